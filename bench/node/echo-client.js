'use strict';
// Echo client: ping-pong, one datagram in flight; the next ping leaves from the 'message' listener.
// Commands: ping {port, size, count, warmup} -> {count, p50Us, p99Us, meanUs, timeouts, elapsedNs}.
// A ping unanswered for 1 s is sent again (counted in timeouts).
const dgram = require('node:dgram');
const { reply, serve, fail } = require('./lines.js');

const socket = dgram.createSocket('udp4');
socket.on('error', fail);
socket.bind(0, '127.0.0.1', () => {
  reply({ port: socket.address().port });
  serve({ ping });
});

function ping({ port, size, count, warmup }) {
  const buf = Buffer.alloc(size, 0x61);
  const total = warmup + count;
  const rtts = new Float64Array(count);
  return new Promise((resolve) => {
    let i = 0;
    let t0 = 0n;
    let timeouts = 0;
    let lastProgress = Date.now();
    const start = process.hrtime.bigint();
    const next = () => {
      t0 = process.hrtime.bigint();
      socket.send(buf, port, '127.0.0.1');
    };
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > 1000) {
        timeouts++;
        lastProgress = Date.now();
        next();
      }
    }, 200);
    const onMessage = () => {
      const rtt = Number(process.hrtime.bigint() - t0);
      if (i >= warmup) rtts[i - warmup] = rtt;
      i++;
      lastProgress = Date.now();
      if (i < total) {
        next();
        return;
      }
      clearInterval(watchdog);
      socket.removeListener('message', onMessage);
      const sorted = Array.from(rtts).sort((a, b) => a - b);
      const pct = (p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] / 1000;
      const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000;
      resolve({ count, p50Us: pct(0.5), p99Us: pct(0.99), meanUs: mean, timeouts,
        elapsedNs: Number(process.hrtime.bigint() - start) });
    };
    socket.on('message', onMessage);
    next();
  });
}
