'use strict';
// Control plane: createSocket + bind + close cycles, `concurrency` chains at once, for durationMs.
// Commands: cycles {durationMs, concurrency} -> {cycles, elapsedNs}.
const dgram = require('node:dgram');
const { serve, reply } = require('./lines.js');

reply({ ready: true });
serve({ cycles });

function cycles({ durationMs, concurrency }) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const end = start + BigInt(durationMs) * 1000000n;
    let done = 0;
    let running = concurrency;
    const chain = () => {
      if (process.hrtime.bigint() >= end) {
        if (--running === 0) {
          resolve({ cycles: done, elapsedNs: Number(process.hrtime.bigint() - start) });
        }
        return;
      }
      const s = dgram.createSocket('udp4');
      s.on('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.close(() => {
          done++;
          chain();
        });
      });
    };
    for (let i = 0; i < concurrency; i++) chain();
  });
}
