'use strict';
// The line protocol between the Java bench and its Node peers: one JSON object per line on stdin
// ({"cmd": "...", ...}), one JSON answer per line on stdout. The peer exits when stdin closes, so
// it never outlives the bench.
const readline = require('node:readline');

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function serve(handlers) {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    if (!line.trim()) return;
    // one command at a time, answered in order
    chain = chain.then(async () => {
      try {
        const msg = JSON.parse(line);
        if (msg.cmd === 'quit') {
          reply({ ok: true });
          process.exit(0);
        }
        const handler = handlers[msg.cmd];
        if (!handler) throw new Error('unknown command ' + msg.cmd);
        reply(await handler(msg));
      } catch (e) {
        reply({ error: String((e && e.stack) || e) });
      }
    });
  });
  rl.on('close', () => process.exit(0));
}

function fail(e) {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
}

module.exports = { reply, serve, fail };
