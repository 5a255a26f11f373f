'use strict';
// Drives a dgramd daemon end to end from Node.js, knowing nothing but dgramd.proto:
// two udp4 sockets exchange a datagram, then a multicast one, then an error is decoded, then both close.
//
//   usage: node demo.js HOST:PORT        (the address the daemon logged: "dgramd listening on ...")
//          DGRAMD_TARGET=HOST:PORT node demo.js
//
// Every step is checked; the script prints one line per step and "demo ok", or the reason it failed
// (exit code 1). Every wait is bounded by TIMEOUT_MS.
const path = require('node:path');
const { EventEmitter } = require('node:events');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const TIMEOUT_MS = 5000;
const LOOPBACK = '127.0.0.1';
const GROUP = '239.255.0.77'; // an administratively scoped multicast group, used on the loopback interface only

// ---- The client, generated at run time from the .proto ----------------------------------------------
const definition = protoLoader.loadSync('dgramd/v1/dgramd.proto', {
  includeDirs: [path.join(__dirname, '../../proto/src/main/proto')],
  keepCase: true, // field names exactly as in the .proto: socket_id, multicast_address, ...
  enums: String, // SocketType as 'SOCKET_TYPE_UDP4'
  longs: String, // uint64 fields (EventsResponse.dropped_messages, ...) as decimal strings
  defaults: true, // proto3: unset fields read as 0 / '' / false instead of being absent
  oneofs: true, // SocketEvent.event names the member that is set: 'listening', 'message', 'close', ...
});
const { Dgram } = grpc.loadPackageDefinition(definition).dgramd.v1;

// ---- Error details ----------------------------------------------------------------------------------
// A failed call carries a google.rpc.Status in the grpc-status-details-bin trailer; its details hold a
// google.rpc.ErrorInfo whose reason is the Node.js error code. Only the fields we read, wire-compatible:
const rpc = protobuf.parse(`
  syntax = "proto3";
  package google.rpc;
  message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  message Any { string type_url = 1; bytes value = 2; } // google.protobuf.Any
  message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
`, { keepCase: true }).root;

/** The ErrorInfo of a failed call ({reason, domain, metadata}), or undefined. */
function errorInfo(err) {
  const [bin] = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  if (!bin) return undefined;
  const status = rpc.lookupType('google.rpc.Status').decode(bin);
  const any = status.details.find((d) => d.type_url.endsWith('/google.rpc.ErrorInfo'));
  const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');
  return any && ErrorInfo.toObject(ErrorInfo.decode(any.value), { defaults: true });
}

// ---- Small helpers ----------------------------------------------------------------------------------
let client;
// Socket ids, closed if the demo fails: a socket lives in the daemon until Close, even after its client is gone.
const created = [];

/** A unary call as a promise, with a deadline. A failure carries .info (the decoded ErrorInfo). */
function call(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + TIMEOUT_MS }, (err, response) => {
      if (!err) return resolve(response);
      err.info = errorInfo(err);
      err.message = `${method}: ${grpc.status[err.code]} ${err.details}` +
        (err.info ? ` (reason ${err.info.reason})` : '');
      reject(err);
    });
  });
}

/** Opens the Events stream of a socket. Its events queue up in .events until a test takes them. */
function watch(name, socket_id) {
  const w = { name, events: [], ended: false, error: null, changed: new EventEmitter() };
  const stream = client.Events({ socket_id });
  stream.on('data', (batch) => { w.events.push(...batch.events); w.changed.emit('change'); });
  stream.on('error', (err) => { w.error = err; w.changed.emit('change'); }); // non-OK end of stream
  stream.on('end', () => { w.ended = true; w.changed.emit('change'); }); // OK end, after 'close'
  return w;
}

/** Resolves with test()'s first truthy result; test() runs now and on every change of the stream. */
function until(w, what, test) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${w.name}: no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const check = () => {
      try { const value = test(); if (value) done(null, value); } catch (err) { done(err); }
    };
    const done = (err, value) => {
      clearTimeout(timer);
      w.changed.off('change', check);
      if (err) reject(err); else resolve(value);
    };
    w.changed.on('change', check);
    check();
  });
}

/** Takes the socket's next event, which must be of this kind; returns its payload. */
function nextEvent(w, kind) {
  return until(w, `'${kind}' event`, () => {
    const event = w.events.shift();
    if (event) {
      if (event.event !== kind) throw new Error(`${w.name}: expected '${kind}', got ${JSON.stringify(event)}`);
      return event[kind];
    }
    if (w.error) throw new Error(`${w.name}: Events stream failed: ${w.error.message}`);
    if (w.ended) throw new Error(`${w.name}: Events stream ended before '${kind}'`);
  });
}

/** Waits for the Events stream to complete (OK), with no event left over. */
function streamEnd(w) {
  return until(w, 'end of the Events stream', () => {
    if (w.events.length) throw new Error(`${w.name}: unexpected event ${JSON.stringify(w.events[0])}`);
    if (w.error) throw new Error(`${w.name}: Events stream failed: ${w.error.message}`);
    return w.ended;
  });
}

/** Throws unless every field of `expected` equals the one of `actual`. */
function expectFields(what, actual, expected) {
  const ok = actual && Object.entries(expected).every(([k, v]) => actual[k] === v);
  if (!ok) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const step = (text) => console.log(`ok  ${text}`);
const hostPort = (a) => `${a.address}:${a.port}`;

// ---- The demo ---------------------------------------------------------------------------------------
async function main(target) {
  client = new Dgram(target, grpc.credentials.createInsecure());

  // 1. dgram.createSocket('udp4') twice; attach each socket's Events stream right away.
  const a = (await call('CreateSocket', { type: 'SOCKET_TYPE_UDP4' })).socket_id;
  const b = (await call('CreateSocket', { type: 'SOCKET_TYPE_UDP4' })).socket_id;
  created.push(a, b);
  const aEvents = watch('A', a);
  const bEvents = watch('B', b);
  step(`CreateSocket x2: A=${a} B=${b}, Events attached`);

  // 2. A.bind(0). Empty address = all interfaces (0.0.0.0), as Node's socket.bind(0): on Linux a socket
  //    bound to 127.0.0.1 would not receive the multicast datagrams of step 4. All traffic stays on lo.
  const bound = (await call('Bind', { socket_id: a, port: 0, address: '' })).address;
  expectFields('Bind answer', bound, { address: '0.0.0.0', family: 'IPv4' });
  const listening = await nextEvent(aEvents, 'listening');
  expectFields("A's 'listening'", listening.address, bound);
  step(`Bind A -> ${hostPort(bound)}, 'listening' agrees`);

  // 3. B.send('hello', A's port, '127.0.0.1'): B is unbound, so the daemon binds it first (like Node).
  const sent = await call('Send', { socket_id: b, data: Buffer.from('hello'), port: bound.port, address: LOOPBACK });
  expectFields('Send answer', sent, { bytes: 5 });
  const bAddress = (await nextEvent(bEvents, 'listening')).address; // B's first event
  expectFields("B's implicit 'listening'", bAddress, { address: '0.0.0.0', family: 'IPv4' });
  step(`Send "hello" B -> A: ${sent.bytes} bytes; B bound implicitly to ${hostPort(bAddress)}`);

  const hello = await nextEvent(aEvents, 'message');
  expectFields('message data', { text: hello.data.toString() }, { text: 'hello' });
  expectFields('rinfo', hello.rinfo, { address: LOOPBACK, family: 'IPv4', port: bAddress.port, size: 5 });
  step(`A 'message' "hello" from ${hostPort(hello.rinfo)} (${hello.rinfo.family}, ${hello.rinfo.size} bytes)`);

  // 4. Multicast over the loopback interface: A joins the group on 127.0.0.1; B sends out of
  //    127.0.0.1 with multicast loopback on, so the datagram comes back to this host's members.
  await call('AddMembership', { socket_id: a, multicast_address: GROUP, interface_address: LOOPBACK });
  await call('SetMulticastInterface', { socket_id: b, interface_address: LOOPBACK });
  expectFields('SetMulticastLoopback answer', await call('SetMulticastLoopback', { socket_id: b, flag: true }), { flag: true });
  step(`AddMembership A ${GROUP} on ${LOOPBACK}; B SetMulticastInterface ${LOOPBACK}, SetMulticastLoopback true`);

  await call('Send', { socket_id: b, data: Buffer.from('hello group'), port: bound.port, address: GROUP });
  const group = await nextEvent(aEvents, 'message');
  expectFields('multicast message', { text: group.data.toString(), ...group.rinfo },
    { text: 'hello group', address: LOOPBACK, port: bAddress.port, size: 11 });
  step(`A 'message' "hello group" sent to ${GROUP}:${bound.port}`);

  // DropMembership, then prove it: each Send answers once the kernel took the datagram, so had A still
  // been a member, the group datagram would arrive before the unicast marker sent after it.
  await call('DropMembership', { socket_id: a, multicast_address: GROUP, interface_address: LOOPBACK });
  await call('Send', { socket_id: b, data: Buffer.from('after drop'), port: bound.port, address: GROUP });
  await call('Send', { socket_id: b, data: Buffer.from('marker'), port: bound.port, address: LOOPBACK });
  const marker = await nextEvent(aEvents, 'message');
  expectFields('message after DropMembership', { text: marker.data.toString() }, { text: 'marker' });
  step(`DropMembership A ${GROUP}: group traffic no longer arrives`);

  // 5. An error: binding A again. Branch on ErrorInfo.reason (the Node error code), not the status code.
  const err = await call('Bind', { socket_id: a, port: 0, address: '' }).then(
    () => { throw new Error('second Bind of A succeeded; expected ERR_SOCKET_ALREADY_BOUND'); },
    (e) => e);
  if (!err.info) throw new Error(`${err.message}: no ErrorInfo in grpc-status-details-bin`);
  expectFields('ErrorInfo', err.info, { reason: 'ERR_SOCKET_ALREADY_BOUND', domain: 'dgramd' });
  step(`Bind A again -> ${grpc.status[err.code]}, reason ${err.info.reason}: ${err.details}`);

  // 6. Close both: each Events stream delivers 'close', then completes.
  for (const [id, w] of [[a, aEvents], [b, bEvents]]) {
    expectFields(`Close ${w.name}`, await call('Close', { socket_id: id }), { already_closed: false });
    await nextEvent(w, 'close');
    await streamEnd(w);
    step(`Close ${w.name}: 'close' event, Events stream completed`);
  }
}

// The daemon's address: the argument, else DGRAMD_TARGET (as in docker/compose.yaml).
const target = process.argv[2] || process.env.DGRAMD_TARGET;
if (!target || process.argv.length > 3) {
  console.error('usage: node demo.js HOST:PORT   (or set DGRAMD_TARGET)');
  process.exit(2);
}
main(target).then(
  // Not client.close(): grpc-js adds a lower-camel alias of each RPC, so client.close is the Close RPC
  // (it shadows Client#close, and grpc.closeClient calls it too). Close the channel instead.
  () => { console.log('demo ok'); client.getChannel().close(); process.exit(0); },
  async (err) => {
    console.error(`demo FAILED: ${err.message}`);
    await Promise.allSettled(created.map((socket_id) => call('Close', { socket_id })));
    process.exit(1);
  });
