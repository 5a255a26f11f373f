'use strict';
// Echo server: sends every datagram back to its sender.
const dgram = require('node:dgram');
const { reply, serve, fail } = require('./lines.js');

const socket = dgram.createSocket('udp4');
let echoed = 0;
socket.on('message', (msg, rinfo) => {
  echoed++;
  socket.send(msg, rinfo.port, rinfo.address);
});
socket.on('error', fail);
socket.bind(0, '127.0.0.1', () => {
  reply({ port: socket.address().port });
  serve({ count: () => ({ count: echoed }) });
});
