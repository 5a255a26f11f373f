'use strict';
// The steps of demo.js, written as a plain node:dgram program on the drop-in (node/): the same code
// would run on Node's own sockets with `require('node:dgram')`. Two udp4 sockets exchange a
// datagram, then a multicast one, then an error, then both close; every socket lives in the daemon.
//
//   usage: node dropin-demo.js HOST:PORT        (or DGRAMD_TARGET=HOST:PORT node dropin-demo.js)
//
// Prints one line per step and "demo ok", or the reason it failed (exit code 1). Every wait is
// bounded by TIMEOUT_MS. Needs `npm ci` in node/ (in a project of your own: `npm install dgramd`).
const { once } = require('node:events');
const dgramd = require('../../node'); // in a project of your own: require('dgramd')

const dgram = process.argv[2] ? dgramd.connect({ target: process.argv[2] }) : dgramd;
const TIMEOUT_MS = 5000;
const LOOPBACK = '127.0.0.1';
const GROUP = '239.255.0.77'; // administratively scoped, used on the loopback interface only (the sidecar policy grants it)

const step = (text) => console.log(`ok  ${text}`);

/** The next `event` of `emitter`, or a failure after TIMEOUT_MS. */
function next(emitter, event) {
  return once(emitter, event, { signal: AbortSignal.timeout(TIMEOUT_MS) }).catch((err) => {
    throw err.name === 'AbortError' ? new Error(`no '${event}' within ${TIMEOUT_MS} ms`) : err;
  });
}

async function main() {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  try {
    // 1. A binds to port 0 on all interfaces (a socket bound to 127.0.0.1 would not get group traffic).
    a.bind(0);
    await next(a, 'listening');
    const port = a.address().port;
    step(`A listening on ${a.address().address}:${port}`);

    // 2. B sends without binding: it is bound first, as Node does ('listening'), then sends.
    const bListening = next(b, 'listening');
    const hello = next(a, 'message');
    const bytes = await new Promise((resolve, reject) => {
      b.send('hello', port, LOOPBACK, (err, n) => (err ? reject(err) : resolve(n)));
    });
    await bListening;
    const [msg, rinfo] = await hello;
    if (String(msg) !== 'hello' || rinfo.port !== b.address().port) throw new Error(`unexpected message ${msg} from ${rinfo.port}`);
    step(`B sent ${bytes} bytes (bound implicitly to ${b.address().port}); A got "${msg}" from ${rinfo.address}:${rinfo.port} (${rinfo.family}, ${rinfo.size} bytes)`);

    // 3. Multicast over the loopback interface; the setters answer synchronously, as Node's do.
    a.addMembership(GROUP, LOOPBACK);
    b.setMulticastInterface(LOOPBACK);
    const loop = b.setMulticastLoopback(true);
    const ttl = b.setMulticastTTL(1);
    const group = next(a, 'message');
    b.send('hello group', port, GROUP);
    const [gmsg] = await group;
    if (String(gmsg) !== 'hello group') throw new Error(`unexpected group message ${gmsg}`);
    step(`A joined ${GROUP}; B multicast loopback ${loop}, TTL ${ttl}; A got "${gmsg}"`);
    a.dropMembership(GROUP, LOOPBACK);
    step(`A left ${GROUP}; receive buffer ${a.getRecvBufferSize()} bytes`);

    // 4. Errors, as Node throws and emits them.
    try {
      a.bind(0);
      throw new Error('a second bind succeeded');
    } catch (err) {
      if (err.code !== 'ERR_SOCKET_ALREADY_BOUND') throw err;
      step(`second bind of A throws ${err.code}: ${err.message}`);
    }
    const c = dgram.createSocket('udp4');
    c.bind(port, LOOPBACK); // A holds the port (all interfaces)
    const [inUse] = await next(c, 'error');
    step(`bind of a taken port emits 'error' ${inUse.code}: ${inUse.message}`);
    c.close();
  } finally {
    // 5. Close both: 'close' comes from each, and the process exits once they are closed.
    const closed = Promise.all([next(a, 'close'), next(b, 'close')]);
    a.close();
    b.close();
    await closed;
    step("A and B closed: 'close' from each");
  }
}

main().then(() => console.log('demo ok'), (err) => {
  console.error(`demo FAILED: ${err.stack || err}`);
  process.exitCode = 1;
});
