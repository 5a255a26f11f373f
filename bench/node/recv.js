'use strict';
// Inbound receiver: a node:dgram socket on 127.0.0.1 that counts 'message' events.
// Usage: node recv.js [recvBufferSize]
// Commands: count -> {count}, reset -> {ok}.
const dgram = require('node:dgram');
const { reply, serve, fail } = require('./lines.js');

const recvBufferSize = Number(process.argv[2] || 0);
const socket = dgram.createSocket(recvBufferSize > 0 ? { type: 'udp4', recvBufferSize } : 'udp4');
let count = 0;
socket.on('message', () => {
  count++;
});
socket.on('error', fail);
socket.bind(0, '127.0.0.1', () => {
  reply({ port: socket.address().port, recvBufferSize: socket.getRecvBufferSize() });
  serve({
    count: () => ({ count }),
    reset: () => {
      count = 0;
      return { ok: true };
    },
  });
});
