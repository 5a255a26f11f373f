'use strict';
// The package's own tests (node --test), against the daemon DGRAMD_TARGET names (NodeDropInIT runs
// them against an in-process daemon). Where Node's answer is the spec, the test asks Node's own
// node:dgram the same question in the same process and compares.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { spawn } = require('node:child_process');
const nodeDgram = require('node:dgram');
const dgram = require('..');

const TIMEOUT = 10000;

function bound(api, type = 'udp4', address = '127.0.0.1', port = 0) {
  const s = api.createSocket(type);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => resolve(s));
  });
}

function closeAll(...sockets) {
  return Promise.all(sockets.map((s) => new Promise((resolve) => s.close(resolve))));
}

/** What fn throws, as {name, code, message}, or 'no throw'. */
function thrownBy(fn) {
  try {
    fn();
    return 'no throw';
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message, string: String(e) };
  }
}

// First, so that the daemon has long reaped the socket the unref'd child left open when it exited.
test('a bound ref\'d socket keeps the process alive; unref\'d or closed sockets do not', { timeout: 30000 }, async () => {
  const script = (body) => `const dgram = require(${JSON.stringify(path.join(__dirname, '..'))});\n${body}`;
  const run = async (body) => {
    const child = spawn(process.execPath, ['-e', script(body)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    const [code] = await once(child, 'exit');
    return { code, out };
  };
  // Unref'd right after bind: 'listening' still comes (Node binds within the turn), then it exits.
  assert.deepStrictEqual(await run("const s = dgram.createSocket('udp4'); s.bind(() => console.log('bound')); s.unref();"),
    { code: 0, out: 'bound\n' });
  // Closed: exits.
  assert.deepStrictEqual(await run("const s = dgram.createSocket('udp4'); s.bind(() => { console.log('bound'); s.close(); });"),
    { code: 0, out: 'bound\n' });
  // Ref'd: alive until a datagram arrives and the socket closes.
  assert.deepStrictEqual(await run(`
    const s = dgram.createSocket('udp4', (m) => { console.log(String(m)); s.close(); });
    s.bind(0, '127.0.0.1', () => {
      const t = dgram.createSocket('udp4');
      setTimeout(() => t.send('late', s.address().port, '127.0.0.1', () => t.close()), 300).unref();
    });`), { code: 0, out: 'late\n' });
});

test('argument errors are thrown synchronously with the codes and messages of node:dgram', { timeout: TIMEOUT }, async () => {
  const cases = [
    ['createSocket bad type', (d) => d.createSocket('udp5')],
    ['createSocket bad lookup', (d) => d.createSocket({ type: 'udp4', lookup: 42 })],
    ['createSocket bad signal', (d) => d.createSocket({ type: 'udp4', signal: {} })],
    ['createSocket bad recvBufferSize', (d) => d.createSocket({ type: 'udp4', recvBufferSize: 'big' })],
    ['createSocket fractional sendBufferSize', (d) => d.createSocket({ type: 'udp4', sendBufferSize: 1.5 })],
    ['send bad port', (d, s) => s.send('x', 0, '127.0.0.1')],
    ['send port out of range', (d, s) => s.send('x', 65536, '127.0.0.1')],
    ['send string port', (d, s) => s.send('x', 'abc', '127.0.0.1')],
    ['send bad buffer', (d, s) => s.send(42, 1234, '127.0.0.1')],
    ['send bad list', (d, s) => s.send([1, 2], 1234, '127.0.0.1')],
    ['send bad address', (d, s) => s.send('x', 1234, 42)],
    ['send offset out of bounds', (d, s) => s.send(Buffer.alloc(4), 5, 1, 1234, '127.0.0.1')],
    ['send length out of bounds', (d, s) => s.send(Buffer.alloc(4), 1, 4, 1234, '127.0.0.1')],
    ['connect bad port', (d, s) => s.connect(0)],
    ['connect bad address', (d, s) => s.connect(1234, 42)],
    ['setTTL not a number', (d, s) => s.setTTL('1')],
    ['setMulticastTTL not a number', (d, s) => s.setMulticastTTL(null)],
    ['setMulticastInterface not a string', (d, s) => s.setMulticastInterface(1)],
    ['addMembership missing', (d, s) => s.addMembership()],
    ['addSourceSpecificMembership bad source', (d, s) => s.addSourceSpecificMembership(1, '232.1.1.1')],
    ['setRecvBufferSize negative', (d, s) => s.setRecvBufferSize(-1)],
    ['disconnect not connected', (d, s) => s.disconnect()],
    ['remoteAddress not connected', (d, s) => s.remoteAddress()],
    ['address unbound', (d, s) => s.address()],
    ['setBroadcast unbound', (d, s) => s.setBroadcast(true)],
    ['setTTL unbound', (d, s) => s.setTTL(5)],
    ['getRecvBufferSize unbound', (d, s) => s.getRecvBufferSize()],
    ['sendto bad offset', (d, s) => s.sendto('x', 'a', 1, 1234, '127.0.0.1')],
  ];
  const ours = dgram.createSocket('udp4');
  const theirs = nodeDgram.createSocket('udp4');
  try {
    for (const [name, fn] of cases) {
      assert.deepStrictEqual(thrownBy(() => fn(dgram, ours)), thrownBy(() => fn(nodeDgram, theirs)), name);
    }
  } finally {
    await closeAll(ours, theirs);
  }
});

test('bind errors carry the shape of Node\'s system errors', { timeout: TIMEOUT }, async () => {
  const holder = await bound(dgram);
  const { port } = holder.address();
  const s = dgram.createSocket('udp4');
  const early = () => assert.fail('bound a taken port');
  s.on('listening', early);
  s.bind(port, '127.0.0.1');
  const [err] = await once(s, 'error');
  s.off('listening', early);
  assert.strictEqual(err.message, `bind EADDRINUSE 127.0.0.1:${port}`);
  assert.strictEqual(err.code, 'EADDRINUSE');
  assert.strictEqual(err.errno, -98);
  assert.strictEqual(err.syscall, 'bind');
  assert.strictEqual(err.address, '127.0.0.1');
  assert.strictEqual(err.port, port);
  // The socket stays open and unbound, as Node's: a second bind works.
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  await closeAll(holder, s);
});

test('events are never emitted inside the call that causes them, and come in Node\'s order', { timeout: TIMEOUT }, async () => {
  const a = dgram.createSocket('udp4');
  const events = [];
  a.on('listening', () => events.push('listening'));
  a.on('connect', () => events.push('connect'));
  a.on('close', () => events.push('close'));
  const b = await bound(dgram);
  const received = once(b, 'message');
  const closed = once(a, 'close');
  a.connect(b.address().port, '127.0.0.1', () => a.send('first', () => a.close()));
  assert.deepStrictEqual(events, []);
  const [msg] = await received;
  assert.strictEqual(String(msg), 'first');
  await closed;
  assert.deepStrictEqual(events, ['listening', 'connect', 'close']);
  await closeAll(b);
});

test('the synchronous getters answer what Node\'s own socket answers', { timeout: TIMEOUT }, async () => {
  const ours = await bound(dgram);
  const theirs = await bound(nodeDgram);
  for (const s of [ours, theirs]) {
    s.setRecvBufferSize(100000);
    s.setSendBufferSize(50000);
  }
  assert.strictEqual(ours.getRecvBufferSize(), theirs.getRecvBufferSize());
  assert.strictEqual(ours.getSendBufferSize(), theirs.getSendBufferSize());
  assert.strictEqual(ours.setTTL(17), theirs.setTTL(17));
  assert.strictEqual(ours.setMulticastTTL(3), theirs.setMulticastTTL(3));
  assert.strictEqual(ours.setMulticastLoopback(true), theirs.setMulticastLoopback(true));
  assert.deepStrictEqual(thrownBy(() => ours.setTTL(1000)), thrownBy(() => theirs.setTTL(1000)));
  assert.strictEqual(ours.getSendQueueCount(), 0);
  assert.strictEqual(ours.getSendQueueSize(), 0);
  await closeAll(ours, theirs);
});

test('names are looked up in the client, with the lookup option when given', { timeout: TIMEOUT }, async () => {
  const receiver = await bound(dgram);
  const asked = [];
  const lookup = (host, family, cb) => {
    asked.push([host, family]);
    process.nextTick(cb, null, '127.0.0.1', 4);
  };
  const s = dgram.createSocket({ type: 'udp4', lookup });
  s.send('via lookup', receiver.address().port, 'receiver.invalid');
  const [msg] = await once(receiver, 'message');
  assert.strictEqual(String(msg), 'via lookup');
  assert.deepStrictEqual(asked, [['0.0.0.0', 4], ['receiver.invalid', 4]]);

  const failing = dgram.createSocket({
    type: 'udp4',
    lookup: (h, f, cb) => process.nextTick(cb, Object.assign(new Error('nope'), { code: 'ENOTFOUND' })),
  });
  failing.send('x', 1234, 'nowhere.invalid', (err) => failing.emit('sent', err));
  const [err] = await once(failing, 'error'); // the implicit bind's lookup fails first
  assert.strictEqual(err.code, 'ENOTFOUND');
  await closeAll(receiver, s, failing);
});

test('connect(options) gives the same API bound to one daemon; an unreachable one fails the first call', { timeout: TIMEOUT }, async () => {
  const api = dgram.connect({ target: process.env.DGRAMD_TARGET });
  const s = api.createSocket('udp4');
  assert.ok(s instanceof dgram.Socket && s instanceof api.Socket);
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  await closeAll(s);

  const nowhere = dgram.connect({ target: '127.0.0.1:1' });
  const lost = nowhere.createSocket('udp4');
  const closed = new Promise((resolve) => lost.once('close', resolve)); // (events.once would reject on 'error')
  lost.bind(0);
  const [err] = await once(lost, 'error');
  assert.strictEqual(err.code, 'ERR_DGRAMD_UNAVAILABLE');
  await closed;
});

test('the ESM entry exports what node:dgram exports', { timeout: TIMEOUT }, async () => {
  const esm = await import('../index.mjs');
  assert.strictEqual(esm.createSocket, dgram.createSocket);
  assert.strictEqual(esm.default, dgram);
  for (const name of Object.getOwnPropertyNames(nodeDgram.Socket.prototype)) {
    if (name.startsWith('_') || name === 'constructor') continue;
    assert.strictEqual(typeof dgram.Socket.prototype[name], typeof nodeDgram.Socket.prototype[name], name);
  }
  assert.strictEqual(typeof dgram.Socket.prototype[Symbol.asyncDispose], 'function');
});

test('a port is free again right after close(), as Node frees it at once', { timeout: TIMEOUT }, async () => {
  const first = await bound(dgram);
  const { port } = first.address();
  // Connected, so that sends go out at once (no lookup): the close waits for these to be answered,
  // and the bind below must wait for the close.
  await new Promise((resolve) => first.connect(port, '127.0.0.1', resolve));
  for (let i = 0; i < 2000; i++) first.send('in flight');
  first.close();
  const again = await bound(dgram, 'udp4', '127.0.0.1', port); // bound within the same turn as close()
  assert.strictEqual(again.address().port, port);
  const closed = new Promise((resolve) => again.close(resolve));
  await closed;
  const third = await bound(dgram, 'udp4', '127.0.0.1', port); // and in the turn after 'close'
  await closeAll(third);
});

test('a named socket outlives its program: the next run takes it back with what came meanwhile', { timeout: 30000 }, async () => {
  const name = `dropin-named-${process.pid}`;
  const script = (body) => `const dgram = require(${JSON.stringify(path.join(__dirname, '..'))});\n${body}`;
  const start = (body) => {
    const child = spawn(process.execPath, ['-e', script(body)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = [];
    let buffered = '';
    child.stdout.on('data', (c) => {
      buffered += c;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        child.emit('line', lines[lines.length - 1]);
      }
    });
    return { child, lines };
  };
  const lineOf = (run, prefix) => new Promise((resolve) => {
    const found = run.lines.find((l) => l.startsWith(prefix));
    if (found) resolve(found);
    else run.child.on('line', (l) => { if (l.startsWith(prefix)) resolve(l); });
  });
  // The same program twice: a named socket, bound with bind(0).
  const program = `
    const s = dgram.createSocket({ type: 'udp4', name: ${JSON.stringify(name)}, keepAlive: 20000 });
    s.on('message', (m) => { console.log('got ' + m); if (String(m) === 'stop') s.close(); });
    s.bind(0, () => console.log('listening ' + s.address().port));`;
  const first = start(`${program}\n    s.on('listening', () => setTimeout(() => process.exit(0), 100));`);
  const port = Number((await lineOf(first, 'listening ')).split(' ')[1]);
  await once(first.child, 'exit'); // gone without close()

  const sender = nodeDgram.createSocket('udp4');
  await new Promise((resolve) => sender.send('while away', port, '127.0.0.1', resolve));

  const second = start(program);
  assert.strictEqual(Number((await lineOf(second, 'listening ')).split(' ')[1]), port, 'the same socket, on its port');
  assert.strictEqual(await lineOf(second, 'got '), 'got while away');
  await new Promise((resolve) => sender.send('stop', port, '127.0.0.1', resolve));
  const [code] = await once(second.child, 'exit');
  assert.strictEqual(code, 0);
  sender.close();
  assert.throws(() => dgram.createSocket({ type: 'udp4', name: 7 }), { code: 'ERR_INVALID_ARG_TYPE' });
});

/**
 * A daemon from the jar (DGRAMD_JAR, default daemon/target/dgramd.jar, as `mvn -pl daemon -am
 * package` builds it): {child, log(), listening (a promise of its target), exited (of its code)}.
 */
function startJar(jar, args) {
  const child = spawn('java', ['-jar', jar, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const listening = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      log += chunk;
      const m = /dgramd listening on (\S+)/.exec(log);
      if (m) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`dgramd ${args.join(' ')} exited (${code}) before listening:\n${log}`)));
  });
  listening.catch(() => {});
  return { child, log: () => log, listening, exited };
}

/**
 * For a hand-over test: the daemon jar (skipping the test without it, unless DGRAMD_JAR names it),
 * a daemon started from it with --hand-over-socket, and takeOver(listen) starting the one that takes
 * its sockets over. Every daemon is killed after the test.
 */
async function handOverDaemons(t) {
  const jar = process.env.DGRAMD_JAR || path.join(__dirname, '..', '..', 'daemon', 'target', 'dgramd.jar');
  if (!fs.existsSync(jar)) {
    if (process.env.DGRAMD_JAR) throw new Error(`DGRAMD_JAR names no file: ${jar}`);
    t.skip(`no daemon jar at ${jar} (mvn -pl daemon -am package builds it; or set DGRAMD_JAR)`);
    return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dgramd-hand-over-'));
  const handOver = path.join(dir, 'hand-over.sock');
  const daemons = [];
  t.after(() => {
    for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const old = startJar(jar, ['--listen', '127.0.0.1:0', '--hand-over-socket', handOver]);
  daemons.push(old);
  const target = await old.listening;
  await new Promise((resolve) => { // its hand-over socket listens once its log says so
    const check = () => (/hands its sockets over/.test(old.log()) ? resolve() : old.child.stdout.once('data', check));
    check();
  });
  const takeOver = (listen) => {
    const fresh = startJar(jar, ['--listen', listen, '--take-over', handOver]);
    daemons.push(fresh);
    return fresh;
  };
  return { old, target, takeOver };
}

test('a socket survives a daemon restart by hand-over: every datagram once and in order, no error, no close', { timeout: 240000 }, async (t) => {
  const daemons = await handOverDaemons(t);
  if (!daemons) return;
  const { old, target } = daemons;

  const api = dgram.connect({ target });
  const s = api.createSocket('udp4');
  const seen = { listening: 0, errors: [], close: 0, sendErrors: [], thrown: [] };
  const progress = new (require('node:events'))(); // 'p' at each datagram received, and at 'close'
  s.on('listening', () => { seen.listening++; });
  s.on('error', (e) => seen.errors.push(e));
  s.on('close', () => { seen.close++; progress.emit('p'); });
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const peer = nodeDgram.createSocket('udp4');
  await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
  t.after(() => { // after a failure too: nothing left to hold the process
    for (const socket of [s, peer]) {
      try {
        socket.close();
      } catch { /* closed already */ }
    }
  });

  // Numbered datagrams both ways, 5 each way every 10 ms, with a synchronous call now and then.
  const got = []; // by s, from the peer
  const peerGot = []; // by the peer, from s
  s.on('message', (m) => { got.push(Number(m)); progress.emit('p'); });
  peer.on('message', (m) => { peerGot.push(Number(m)); progress.emit('p'); });
  const until = (cond) => new Promise((resolve, reject) => {
    const check = () => {
      if (seen.close > 0) {
        progress.removeListener('p', check);
        reject(new Error(`the socket closed: ${seen.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`));
        return;
      }
      if (!cond()) return;
      progress.removeListener('p', check);
      resolve();
    };
    progress.on('p', check);
    check();
  });
  let next = 0;
  let ticks = 0;
  const port = s.address().port;
  const peerPort = peer.address().port;
  const sender = setInterval(() => {
    if (seen.close > 0) {
      clearInterval(sender);
      progress.emit('p');
      return;
    }
    for (let i = 0; i < 5; i++, next++) {
      const n = next;
      peer.send(String(n), port, '127.0.0.1');
      s.send(String(n), peerPort, '127.0.0.1', (err) => { if (err) seen.sendErrors.push([n, err]); });
    }
    if (++ticks % 20 === 0) {
      try {
        s.setTTL(64);
      } catch (e) {
        seen.thrown.push(e);
      }
    }
  }, 10);
  t.after(() => clearInterval(sender));
  await until(() => got.length >= 200 && peerGot.length >= 200);

  const fresh = daemons.takeOver(target);
  assert.strictEqual(await old.exited, 0, `the old daemon's exit code; its log:\n${old.log()}`);
  await fresh.listening;
  const mark = next;
  await until(() => got.length > 0 && got[got.length - 1] >= mark + 200 && peerGot.length > 0 && peerGot[peerGot.length - 1] >= mark + 200);
  clearInterval(sender);
  const total = next;
  await until(() => got.length >= total && peerGot.length >= total);

  const expected = Array.from({ length: total }, (_, i) => i);
  assert.deepStrictEqual(got, expected, 'what s received: every number once, in order');
  assert.deepStrictEqual(peerGot, expected, 'what s sent: every number once, in order');
  assert.deepStrictEqual(seen.errors, []);
  assert.deepStrictEqual(seen.sendErrors, []);
  assert.deepStrictEqual(seen.thrown, []);
  assert.strictEqual(seen.close, 0);
  assert.strictEqual(seen.listening, 1);
  assert.strictEqual(s.droppedMessages, 0);
  assert.match(fresh.log(), /took over 1 of 1 socket/);

  // The socket lives on in the new process.
  await new Promise((resolve) => s.close(resolve));
  assert.strictEqual(seen.close, 1);
  assert.deepStrictEqual(seen.errors, []);
  fresh.child.kill('SIGTERM');
  await fresh.exited;
});

test('a socket whose daemon does not come back within DGRAMD_RESTART_TIMEOUT_MS gets \'error\', then \'close\'', { timeout: 240000 }, async (t) => {
  const daemons = await handOverDaemons(t);
  if (!daemons) return;
  const program = `const dgram = require(${JSON.stringify(path.join(__dirname, '..'))});
    const s = dgram.createSocket('udp4');
    s.on('error', (e) => console.log('error ' + e.code + ' ' + e.message));
    s.on('close', () => console.log('close'));
    s.bind(0, '127.0.0.1', () => console.log('listening'));`;
  const child = spawn(process.execPath, ['-e', program], {
    env: { ...process.env, DGRAMD_TARGET: daemons.target, DGRAMD_RESTART_TIMEOUT_MS: '1000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  const exited = once(child, 'exit');
  await new Promise((resolve) => {
    const check = () => (out.includes('listening\n') ? resolve() : child.stdout.once('data', check));
    check();
  });
  // The new process listens elsewhere: the socket's target never answers again.
  const fresh = daemons.takeOver('127.0.0.1:0');
  assert.strictEqual(await daemons.old.exited, 0, `the old daemon's exit code; its log:\n${daemons.old.log()}`);
  await fresh.listening;
  const [code] = await exited;
  assert.strictEqual(out, 'listening\nerror ERR_DGRAMD_UNAVAILABLE dgramd: dgramd did not come back within the restart '
    + 'timeout (DGRAMD_RESTART_TIMEOUT_MS, 1000 ms)\nclose\n');
  assert.strictEqual(code, 0);
});
