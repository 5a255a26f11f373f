'use strict';
// Outbound sender: socket.send() as fast as the callbacks allow, at most `inflight` unanswered.
// Commands: send {port, size, count, inflight[, durationMs]} -> {sent, errors, elapsedNs}: with
// durationMs, no send is issued once that long has passed since the first (count is then a cap).
const dgram = require('node:dgram');
const { reply, serve, fail } = require('./lines.js');

const socket = dgram.createSocket('udp4');
socket.on('error', fail);
socket.bind(0, '127.0.0.1', () => {
  reply({ port: socket.address().port });
  serve({ send });
});

function send({ port, size, count, inflight, durationMs }) {
  const buf = Buffer.alloc(size, 0x61);
  return new Promise((resolve) => {
    const deadline = durationMs > 0 ? process.hrtime.bigint() + BigInt(Math.round(durationMs * 1e6)) : 0n;
    let issued = 0;
    let done = 0;
    let errors = 0;
    let firstError = '';
    let pending = 0;
    const t0 = process.hrtime.bigint();
    const pump = () => {
      if (deadline && issued < count && process.hrtime.bigint() >= deadline) count = issued;
      while (pending < inflight && issued < count) {
        pending++;
        issued++;
        socket.send(buf, port, '127.0.0.1', onSent);
      }
    };
    function onSent(err) {
      pending--;
      done++;
      if (err) {
        errors++;
        if (!firstError) firstError = String(err.code || err);
      }
      if (done === count || (deadline && pending === 0 && process.hrtime.bigint() >= deadline)) {
        count = done;
        resolve({ sent: done - errors, errors, firstError,
          elapsedNs: Number(process.hrtime.bigint() - t0) });
      } else {
        pump();
      }
    }
    pump();
  });
}
