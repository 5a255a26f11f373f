'use strict';
// Scale: holds `count` bound sockets (127.0.0.1, any port).
// Commands: open {count} -> {opened, elapsedNs}; close -> {closed, elapsedNs}.
const dgram = require('node:dgram');
const { serve, reply } = require('./lines.js');

const sockets = [];
reply({ ready: true });
serve({ open, close });

function open({ count }) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let bound = 0;
    for (let i = 0; i < count; i++) {
      const s = dgram.createSocket('udp4');
      s.on('error', reject);
      s.on('message', () => {});
      sockets.push(s);
      s.bind(0, '127.0.0.1', () => {
        if (++bound === count) {
          resolve({ opened: bound, elapsedNs: Number(process.hrtime.bigint() - start) });
        }
      });
    }
  });
}

function close() {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const n = sockets.length;
    let left = n;
    if (left === 0) resolve({ closed: 0, elapsedNs: 0 });
    for (const s of sockets.splice(0)) {
      s.close(() => {
        if (--left === 0) resolve({ closed: n, elapsedNs: Number(process.hrtime.bigint() - start) });
      });
    }
  });
}
