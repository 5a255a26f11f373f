'use strict';
// The gRPC side of the package, in a worker thread of its own: the connections to the daemons, each
// socket's Events stream, the batched SendStream and the unary calls. Living here, the connections
// never keep the program's event loop alive (the main thread holds a timer while a socket should),
// and the main thread can wait for a call's answer synchronously (Atomics.wait on a shared cell)
// where node:dgram answers synchronously.
//
// Messages in (from bridge.js): arrays of ops {op: 'conn'|'socket'|'bind'|'connect'|'send'|'close'|
// 'sync', ...}. Messages out: {t: 'ev', sock, events, data} (a socket's events; message payloads
// packed in one transferred ArrayBuffer), {t: 'fail', sock, what, err} (a bind or connect refused by
// the call itself), {t: 'gone', sock, created, err} (the socket or its stream was lost),
// {t: 'sent', results} and {t: 'closed', sock}. Sync answers go to the sync port, then the shared cell
// is set to their sequence number.
const { parentPort, workerData } = require('node:worker_threads');
const { newClient, callMetadata, callError, eventError, grpc } = require('./contract');

const { connectivityState } = grpc;
/** How long loading the package waits for the default daemon's connection (see bridge.ready). */
const READY_WAIT_MS = 1000;

const CALL_TIMEOUT_MS = workerData.callTimeoutMs;
const cell = new Int32Array(workerData.cell);
const syncPort = workerData.syncPort;

/** Connection id -> {client, metadata, sendCall, nextId, inflight: Map id -> {sock, req}}. */
const connections = new Map();
/** Main-side socket id -> Remote. */
const sockets = new Map();
/**
 * Closes not yet done. A bind waits for the closes issued before it: node:dgram's close() frees the
 * port at once, so a program may bind it again right after (in the 'close' listener, say).
 */
const closing = new Set();

class Remote {
  constructor(sock, conn, create) {
    this.sock = sock;
    this.conn = conn;
    this.create = create;
    this.socketId = '';
    this.state = 'none'; // none | creating | open | gone
    this.waiting = []; // functions to run once open
    this.closing = false;
    this.call = null;
    this.sending = 0; // datagrams written, not answered
    this.idle = []; // resolvers waiting for sending === 0
  }

  /** Runs fn once the socket exists in the daemon (creating it, without a bind, if nothing did). */
  whenOpen(fn) {
    if (this.state === 'open') return fn();
    if (this.state === 'gone') return fn(new Error('gone'));
    this.waiting.push(fn);
    if (this.state === 'none') this.open(null);
  }

  /** Events{create[, bind]}: creates the socket and streams its events. */
  open(bind) {
    this.state = 'creating';
    const c = connections.get(this.conn);
    if (c.broken) {
      this.state = 'none';
      this.failBroken(c.broken);
      return;
    }
    const request = { create: this.create };
    if (bind) request.bind = bind;
    const call = c.client.Events(request, c.metadata);
    this.call = call;
    call.on('data', (batch) => this.onBatch(batch));
    call.on('error', (err) => this.onEnd(err));
    call.on('end', () => this.onEnd(null));
  }

  onBatch(batch) {
    if (this.state === 'creating' && batch.socket_id) {
      this.socketId = batch.socket_id;
      this.state = 'open';
      const waiting = this.waiting;
      this.waiting = [];
      for (const fn of waiting) fn();
    }
    if (this.closing) {
      if (batch.events.some((e) => e.event === 'close')) this.ended();
      return;
    }
    const events = [];
    let size = 0;
    for (const e of batch.events) if (e.event === 'message') size += e.message.data.length;
    const data = size > 0 ? new Uint8Array(size) : null; // empty datagrams need no bytes
    let offset = 0;
    for (const e of batch.events) {
      switch (e.event) {
        case 'listening': events.push({ listening: e.listening.address }); break;
        case 'connect': events.push({ connect: e.connect.remote }); break;
        case 'message': {
          const { data: payload, rinfo } = e.message;
          if (payload.length > 0) data.set(payload, offset);
          events.push({ message: [offset, payload.length, rinfo.address, rinfo.family, rinfo.port] });
          offset += payload.length;
          break;
        }
        case 'error': events.push({ error: eventError(e.error.error) }); break;
        case 'close': events.push({ close: true }); break;
        default: break;
      }
    }
    if (batch.dropped_messages) events.push({ dropped: Number(batch.dropped_messages) });
    if (events.length > 0) {
      parentPort.postMessage({ t: 'ev', sock: this.sock, events, data: data && data.buffer },
        data ? [data.buffer] : []);
    }
    if (batch.events.some((e) => e.event === 'close')) this.ended();
  }

  onEnd(err) {
    if (this.state === 'gone') return;
    const created = this.state === 'open';
    const waiting = this.waiting;
    this.waiting = [];
    this.ended();
    for (const fn of waiting) fn(new Error('gone'));
    if (this.closing) return;
    const error = err ? callError(err) : {
      code: 'ERR_DGRAMD_UNAVAILABLE', message: 'dgramd: the daemon closed the socket',
    };
    parentPort.postMessage({ t: 'gone', sock: this.sock, created, err: error });
  }

  /** The connection cannot be made: the socket is lost at its first call. */
  failBroken(error) {
    const waiting = this.waiting;
    this.waiting = [];
    this.state = 'gone';
    sockets.delete(this.sock);
    for (const fn of waiting) fn(new Error('gone'));
    if (this.closing) parentPort.postMessage({ t: 'closed', sock: this.sock });
    else parentPort.postMessage({ t: 'gone', sock: this.sock, created: false, err: error });
  }

  ended() {
    if (this.state === 'gone') return;
    this.state = 'gone';
    sockets.delete(this.sock);
    if (this.call) this.call.cancel();
    if (this.closing) parentPort.postMessage({ t: 'closed', sock: this.sock });
    if (this.closeDone) this.closeDone();
  }

  /** Marks the socket closing; resolves (and leaves `closing`) once the daemon has closed it. */
  startClose() {
    this.closing = true;
    const done = new Promise((resolve) => { this.closeDone = resolve; });
    closing.add(done);
    done.then(() => closing.delete(done));
  }

  /** Resolves once every datagram written for this socket has been answered. */
  drained() {
    return this.sending === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  answered(n) {
    this.sending -= n;
    if (this.sending === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }
}

function unary(remote, method, request) {
  const c = connections.get(remote.conn);
  if (c.broken) return Promise.reject(c.broken);
  return new Promise((resolve, reject) => {
    c.client[method]({ socket_id: remote.socketId, ...request }, c.metadata,
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (err, response) => (err ? reject(callError(err)) : resolve(response)));
  });
}

const GONE = { code: 'ERR_DGRAMD_UNAVAILABLE', message: 'dgramd: the socket is gone (the daemon closed it or was lost)' };

// ---- Sends: one SendStream per connection, batches per socket --------------------------------------

function sendCall(c) {
  if (c.sendCall) return c.sendCall;
  const call = c.client.SendStream(c.metadata);
  c.sendCall = call;
  call.on('data', (batch) => {
    const results = [];
    for (const r of batch.results) {
      const pending = c.inflight.get(r.id);
      if (!pending) continue;
      c.inflight.delete(r.id);
      results.push(r.error ? [pending.req, 0, callErrorOf(r.error)] : [pending.req, r.bytes]);
      const remote = sockets.get(pending.sock);
      if (remote) remote.answered(1);
    }
    if (results.length > 0) parentPort.postMessage({ t: 'sent', results });
  });
  const fail = (err) => {
    if (c.sendCall !== call) return;
    c.sendCall = null;
    const error = err ? callError(err) : GONE;
    const results = [];
    for (const pending of c.inflight.values()) {
      results.push([pending.req, 0, error]);
      const remote = sockets.get(pending.sock);
      if (remote) remote.answered(1);
    }
    c.inflight.clear();
    if (results.length > 0) parentPort.postMessage({ t: 'sent', results });
  };
  call.on('error', fail);
  call.on('end', () => fail(null));
  return call;
}

function callErrorOf(error) {
  return eventError(error);
}

/** Writes consecutive sends of one socket as one SendBatch. */
function writeSends(remote, sends) {
  const c = connections.get(remote.conn);
  const datagrams = sends.map((s) => {
    const id = c.nextId++;
    c.inflight.set(id, { sock: remote.sock, req: s.req });
    return { id, data: Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength), port: s.port, address: s.address || '' };
  });
  remote.sending += datagrams.length;
  sendCall(c).write({ socket_id: remote.socketId, datagrams });
}

// ---- Ops from the main thread ------------------------------------------------------------------------

function reply(seq, answer) {
  syncPort.postMessage({ seq, ...answer });
  Atomics.store(cell, 0, seq);
  Atomics.notify(cell, 0);
}

async function syncOp(op) {
  const remote = sockets.get(op.sock);
  if (!remote) return reply(op.seq, { err: GONE });
  const c = connections.get(remote.conn);
  const gone = await new Promise((resolve) => remote.whenOpen(resolve));
  if (gone) return reply(op.seq, { err: c.broken || GONE });
  await remote.drained();
  try {
    reply(op.seq, { value: await unary(remote, op.method, op.request) });
  } catch (err) {
    reply(op.seq, { err });
  }
}

function handle(op, pendingSends) {
  switch (op.op) {
    case 'conn': {
      let client = null;
      let broken = null;
      try {
        client = newClient(op.options, op.warm);
      } catch (err) { // a malformed target or unreadable PEM file: every call of it fails with this
        broken = { code: 'ERR_DGRAMD_CALL_FAILED', message: `dgramd: cannot connect to ${op.options.target}: ${err.message}` };
      }
      connections.set(op.conn, {
        client, broken, metadata: callMetadata(op.options), sendCall: null, nextId: 1, inflight: new Map(),
      });
      return;
    }
    case 'socket':
      sockets.set(op.sock, new Remote(op.sock, op.conn, op.create));
      return;
    case 'sync':
      if (op.method === 'ready') whenConnected(op.conn, READY_WAIT_MS, () => reply(op.seq, { value: {} }));
      else syncOp(op);
      return;
    default: break;
  }
  const remote = sockets.get(op.sock);
  if (op.op === 'send') {
    if (!remote || remote.state !== 'open' || remote.closing) {
      parentPort.postMessage({ t: 'sent', results: [[op.req, 0, GONE]] });
      return;
    }
    pendingSends.push(op);
    return;
  }
  if (!remote) {
    if (op.op === 'close') parentPort.postMessage({ t: 'closed', sock: op.sock });
    return;
  }
  switch (op.op) {
    case 'bind': {
      const bind = { port: op.port, address: op.address, exclusive: !!op.exclusive };
      const start = () => {
        if (remote.closing) return;
        if (remote.state === 'none') {
          remote.open(bind);
          return;
        }
        remote.whenOpen((gone) => {
          if (gone) return;
          unary(remote, 'Bind', bind).catch((err) => failed(remote, 'bind', err));
        });
      };
      if (closing.size === 0) start();
      else Promise.all([...closing]).then(start);
      return;
    }
    case 'connect':
      remote.whenOpen((gone) => {
        if (gone) return;
        unary(remote, 'Connect', { port: op.port, address: op.address }).catch((err) => failed(remote, 'connect', err));
      });
      return;
    case 'close': {
      remote.startClose();
      if (remote.state === 'none') {
        remote.ended();
        return;
      }
      // After the sends written before it are answered: Node's send completes before a close.
      remote.whenOpen(async (gone) => {
        if (gone) return;
        await remote.drained();
        unary(remote, 'Close', {}).then(
          (r) => { if (r.already_closed) remote.ended(); },
          () => remote.ended());
      });
      return;
    }
    default:
      return;
  }
}

/**
 * A Bind or Connect whose call failed: system errors (EADDRINUSE, ...) are also emitted on the
 * event stream, which tells them in order; the others (argument, state, transport) only here.
 */
function failed(remote, what, err) {
  if (/^E[A-Z0-9]+$/.test(err.code) && !remote.closing) return;
  if (remote.closing) return;
  parentPort.postMessage({ t: 'fail', sock: remote.sock, what, err });
}

parentPort.on('message', (ops) => {
  const sends = [];
  for (const op of ops) {
    if (op.op !== 'send') flush(sends);
    handle(op, sends);
  }
  flush(sends);
});

/** Calls done once the connection is ready or failed (or after at most waitMs). */
function whenConnected(conn, waitMs, done) {
  const c = connections.get(conn);
  if (!c || c.broken) return done();
  const channel = c.client.getChannel();
  const deadline = Date.now() + waitMs;
  const check = () => {
    const state = channel.getConnectivityState(true);
    if (state === connectivityState.READY || state === connectivityState.TRANSIENT_FAILURE || Date.now() >= deadline) {
      return done();
    }
    channel.watchConnectivityState(state, deadline, check);
  };
  check();
}

/** Writes the sends gathered so far, one SendBatch per run of the same socket. */
function flush(sends) {
  let start = 0;
  for (let i = 1; i <= sends.length; i++) {
    if (i === sends.length || sends[i].sock !== sends[start].sock) {
      const remote = sockets.get(sends[start].sock);
      writeSends(remote, sends.slice(start, i));
      start = i;
    }
  }
  sends.length = 0;
}
