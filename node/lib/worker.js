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
//
// A daemon restarting by hand-over (dgramd --hand-over-socket, then a new one with --take-over on the
// same address) ends every stream with ERR_DGRAMD_RESTARTING and refuses other calls with it. The
// program sees nothing of it: each socket's Events stream re-attaches by id to the new process
// (Remote.startReattach), the datagrams the old one left unanswered go again, in order, on a new
// SendStream (requeue), and refused calls are made again once the socket re-attached (unary); all
// within DGRAMD_RESTART_TIMEOUT_MS, past which the socket is lost ('error' ERR_DGRAMD_UNAVAILABLE).
const { parentPort, workerData } = require('node:worker_threads');
const { newClient, callMetadata, callError, eventError, grpc } = require('./contract');

const { connectivityState } = grpc;
/** How long loading the package waits for the default daemon's connection (see bridge.ready). */
const READY_WAIT_MS = 1000;

const CALL_TIMEOUT_MS = workerData.callTimeoutMs;
/** How long a socket waits for a daemon restarting by hand-over to come back at the same target. */
const RESTART_TIMEOUT_MS = workerData.restartTimeoutMs;
/** The pause before a call refused by a restarting daemon is made again. */
const RESTART_RETRY_MS = 10;
const RESTART_GAVE_UP = `dgramd did not come back within the restart timeout (DGRAMD_RESTART_TIMEOUT_MS, ${RESTART_TIMEOUT_MS} ms)`;
const cell = new Int32Array(workerData.cell);
const syncPort = workerData.syncPort;

/**
 * Connection id -> {client, metadata, waitMetadata (the same, waiting for the channel to be ready),
 * sendCall, nextId, inflight: Map id -> {sock, req, socketId, datagram}, and while the daemon
 * restarts: reattaching (sockets re-attaching), sendRestartUntil, sendBacklog (batches for the next
 * stream), sendTimer, sendGaveUp}.
 */
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
    this.reattaching = null; // while re-attaching to a restarted daemon: a promise of true (attached) or false (lost)
    this.settleReattach = null;
    this.timers = [];
    this.verdict = deferred(); // settles when the event stream ends: true when because the daemon restarts
  }

  /** Runs fn once the socket exists in the daemon (creating it, without a bind, if nothing did). */
  whenOpen(fn) {
    if (this.state === 'open') return fn();
    if (this.state === 'gone') return fn(new Error('gone'));
    this.waiting.push(fn);
    if (this.state === 'none') this.open(null);
  }

  /**
   * Events{create[, bind]}: creates the socket and streams its events. restartUntil: when a daemon
   * restarting by hand-over refused an earlier try (nothing done), until when to try again, waiting
   * for the channel; 0 on the first try.
   */
  open(bind, restartUntil = 0) {
    this.state = 'creating';
    const c = connections.get(this.conn);
    if (c.broken) {
      this.state = 'none';
      this.failBroken(c.broken);
      return;
    }
    const request = { create: this.create };
    if (bind) request.bind = bind;
    this.stream(c.client.Events(request, restartUntil ? c.waitMetadata : c.metadata), (err) => {
      const kind = restartKind(err);
      if (this.state === 'creating' && (kind === 'restarting' || (kind && restartUntil))) {
        const until = restartUntil || Date.now() + RESTART_TIMEOUT_MS;
        if (Date.now() < until) {
          this.later(() => this.open(bind, until));
          return;
        }
      }
      this.onStreamError(err);
    });
  }

  /** Makes `call` the socket's event stream; its failure goes to onError. */
  stream(call, onError) {
    this.call = call;
    call.on('data', (batch) => {
      if (this.call !== call) return;
      if (this.reattaching && batch.socket_id) this.reattached();
      this.onBatch(batch);
    });
    let failed = false; // grpc-js emits 'end' after 'error' too
    call.on('error', (err) => {
      failed = true;
      if (this.call === call) onError(err);
    });
    call.on('end', () => { if (this.call === call && !failed) this.onEnd(null); });
  }

  /** Runs fn after the restart pause, unless the socket is gone by then. */
  later(fn) {
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((t) => t !== timer);
      if (this.state !== 'gone') fn();
    }, RESTART_RETRY_MS);
    this.timers.push(timer);
  }

  /** The event stream failed: lost, unless the daemon ended it because it hands over to a new process. */
  onStreamError(err) {
    if (this.state === 'open' && !this.reattaching && restartKind(err) === 'restarting') {
      this.startReattach();
      return;
    }
    this.onEnd(err);
  }

  // ---- Re-attaching to a daemon restarted by hand-over ----

  /**
   * The daemon hands its sockets to a new process: every event the old one sent came before the
   * end of the stream, the new one sends the rest. Opens Events{socket_id} again, waiting for the
   * channel to find the new process at the same target (retrying while the old one still answers
   * ERR_DGRAMD_RESTARTING), within the restart timeout.
   */
  startReattach() {
    const until = Date.now() + RESTART_TIMEOUT_MS;
    const c = connections.get(this.conn);
    c.reattaching++;
    this.reattaching = new Promise((resolve) => {
      this.settleReattach = (attached) => {
        c.reattaching--;
        resolve(attached);
      };
    });
    this.verdict.resolve(true);
    this.verdict = deferred();
    this.giveUp = setTimeout(() => this.reattachFailed(RESTART_GAVE_UP), RESTART_TIMEOUT_MS);
    this.reattach(until);
  }

  reattach(until) {
    const c = connections.get(this.conn);
    this.stream(c.client.Events({ socket_id: this.socketId }, c.waitMetadata), (err) => {
      if (!this.reattaching) {
        this.onStreamError(err); // attached, then ended
        return;
      }
      const kind = restartKind(err);
      if (kind && Date.now() < until) {
        this.later(() => this.reattach(until));
        return;
      }
      this.reattachFailed(kind ? RESTART_GAVE_UP
        : `the socket did not survive the daemon's restart: ${callError(err).message}`);
    });
  }

  /** The new process's first batch (its socket_id says the stream is attached). */
  reattached() {
    clearTimeout(this.giveUp);
    const settle = this.settleReattach;
    this.reattaching = null;
    settle(true);
  }

  reattachFailed(message) {
    if (!this.reattaching) return;
    clearTimeout(this.giveUp);
    const settle = this.settleReattach;
    this.reattaching = null;
    settle(false);
    this.onEnd(null, { code: 'ERR_DGRAMD_UNAVAILABLE', message: `dgramd: ${message}` });
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

  /** The socket is lost (or closed, when closing): err is the call's failure, or else error says why. */
  onEnd(err, error = null) {
    if (this.state === 'gone') return;
    const created = this.state === 'open';
    const waiting = this.waiting;
    this.waiting = [];
    this.ended();
    for (const fn of waiting) fn(new Error('gone'));
    if (this.closing) return;
    const why = error || (err ? callError(err) : {
      code: 'ERR_DGRAMD_UNAVAILABLE', message: 'dgramd: the daemon closed the socket',
    });
    parentPort.postMessage({ t: 'gone', sock: this.sock, created, err: why });
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
    for (const timer of this.timers) clearTimeout(timer);
    clearTimeout(this.giveUp);
    this.verdict.resolve(false);
    if (this.reattaching) {
      this.reattaching = null;
      this.settleReattach(false);
    }
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

/**
 * A unary call on the socket. One refused by a daemon restarting by hand-over (ERR_DGRAMD_RESTARTING,
 * or the connection failing while it restarts) is made again once the socket's stream re-attached
 * to the new process, after a short pause, within the restart timeout.
 */
function unary(remote, method, request) {
  const c = connections.get(remote.conn);
  if (c.broken) return Promise.reject(c.broken);
  return new Promise((resolve, reject) => {
    let restartUntil = 0;
    const attempt = () => {
      c.client[method]({ socket_id: remote.socketId, ...request }, restartUntil ? c.waitMetadata : c.metadata,
        { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, response) => {
          if (!err) return resolve(response);
          const kind = restartKind(err);
          if (!kind) return reject(callError(err));
          const now = Date.now();
          if (!restartUntil) restartUntil = now + RESTART_TIMEOUT_MS;
          else if (now >= restartUntil) return reject({ code: 'ERR_DGRAMD_UNAVAILABLE', message: `dgramd: ${RESTART_GAVE_UP}` });
          return afterRestart(remote, kind).then((again) => {
            if (!again) reject(remote.state === 'gone' ? GONE : callError(err));
            else setTimeout(start, RESTART_RETRY_MS);
          });
        });
    };
    // While the socket re-attaches, after it
    const start = () => {
      if (!remote.reattaching) attempt();
      else remote.reattaching.then((attached) => (attached ? attempt() : reject(GONE)));
    };
    start();
  });
}

/**
 * After a call of the socket refused for a restart (kind, see restartKind): resolves true once it
 * may be made again, false when the refusal is its answer. A failed connection is a restart only
 * when the socket's event stream says so (it ends with ERR_DGRAMD_RESTARTING), within the call timeout.
 */
async function afterRestart(remote, kind) {
  if (remote.reattaching) return remote.reattaching;
  if (remote.state === 'gone') return false;
  if (kind === 'restarting') return true; // the stream's end is on its way
  let timer;
  const restarting = await Promise.race([remote.verdict.promise,
    new Promise((resolve) => { timer = setTimeout(resolve, CALL_TIMEOUT_MS, false); })]);
  clearTimeout(timer);
  if (!restarting) return false;
  return remote.reattaching || true;
}

/**
 * What a failed call says of a daemon restart: 'restarting' when the daemon refused it because it
 * hands over to a new process (ERR_DGRAMD_RESTARTING), 'transport' for gRPC's own UNAVAILABLE (no
 * ErrorInfo: the connection failed or was refused, as between the old process closing its listener
 * and the new one listening), '' otherwise.
 */
function restartKind(err) {
  const error = callError(err);
  if (error.code === 'ERR_DGRAMD_RESTARTING') return 'restarting';
  if (err.code === grpc.status.UNAVAILABLE && error.code === 'ERR_DGRAMD_UNAVAILABLE') return 'transport';
  return '';
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

const GONE = { code: 'ERR_DGRAMD_UNAVAILABLE', message: 'dgramd: the socket is gone (the daemon closed it or was lost)' };

// ---- Sends: one SendStream per connection, batches per socket --------------------------------------

function sendCall(c) {
  if (c.sendCall) return c.sendCall;
  if (c.reattaching > 0) awaitRestart(c); // a socket waits for the new process: so does this stream
  const call = c.client.SendStream(c.sendRestartUntil ? c.waitMetadata : c.metadata);
  c.sendCall = call;
  call.on('data', (batch) => {
    if (c.sendRestartUntil && c.sendCall === call) restarted(c); // the new process answers
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
    if (err && restartKind(err) === 'restarting' && requeue(c)) return;
    c.sendCall = null;
    failSends(c, c.sendGaveUp || (err ? callError(err) : GONE));
  };
  call.on('error', fail);
  call.on('end', () => fail(null));
  return call;
}

/** Every datagram given to connection c and not answered fails with error. */
function failSends(c, error) {
  restarted(c);
  c.sendGaveUp = null;
  c.sendBacklog = null;
  const results = [];
  for (const pending of c.inflight.values()) {
    results.push([pending.req, 0, error]);
    const remote = sockets.get(pending.sock);
    if (remote) remote.answered(1);
  }
  c.inflight.clear();
  if (results.length > 0) parentPort.postMessage({ t: 'sent', results });
}

/**
 * The daemon ended the SendStream because it hands over to a new process: it answered every
 * datagram it took, so those without an answer were not sent. They go again, in their order, on a
 * new stream (after a pause, waiting for the channel to find the new process), ahead of any sent
 * meanwhile. False when the restart timeout has passed (they then fail).
 */
function requeue(c) {
  if (c.sendRestartUntil && Date.now() >= c.sendRestartUntil) return false;
  awaitRestart(c);
  c.sendCall = null;
  const batches = [];
  const ids = [...c.inflight.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const pending = c.inflight.get(id);
    const last = batches[batches.length - 1];
    if (last && last.socket_id === pending.socketId) last.datagrams.push(pending.datagram);
    else batches.push({ socket_id: pending.socketId, datagrams: [pending.datagram] });
  }
  c.sendBacklog = batches;
  setTimeout(() => {
    const backlog = c.sendBacklog;
    if (!backlog) return; // failed meanwhile
    c.sendBacklog = null;
    const call = sendCall(c);
    for (const batch of backlog) call.write(batch);
  }, RESTART_RETRY_MS);
  return true;
}

/**
 * The next SendStreams of connection c wait for the channel to be ready, until the restart timeout;
 * past it the datagrams still unanswered fail.
 */
function awaitRestart(c) {
  if (c.sendRestartUntil) return;
  c.sendRestartUntil = Date.now() + RESTART_TIMEOUT_MS;
  c.sendTimer = setTimeout(() => {
    c.sendTimer = null;
    if (c.inflight.size === 0) {
      restarted(c); // nothing waits: the next stream starts afresh
    } else if (c.sendCall) {
      c.sendGaveUp = { code: 'ERR_DGRAMD_UNAVAILABLE', message: `dgramd: ${RESTART_GAVE_UP}` };
      c.sendCall.cancel(); // its failure fails them
    } else {
      failSends(c, { code: 'ERR_DGRAMD_UNAVAILABLE', message: `dgramd: ${RESTART_GAVE_UP}` });
    }
  }, RESTART_TIMEOUT_MS);
}

/** The SendStream is no longer waiting for a restarted daemon. */
function restarted(c) {
  c.sendRestartUntil = 0;
  if (c.sendTimer) clearTimeout(c.sendTimer);
  c.sendTimer = null;
}

function callErrorOf(error) {
  return eventError(error);
}

/** Writes consecutive sends of one socket as one SendBatch. */
function writeSends(remote, sends) {
  const c = connections.get(remote.conn);
  const datagrams = sends.map((s) => {
    const id = c.nextId++;
    const datagram = { id, data: Buffer.from(s.data.buffer, s.data.byteOffset, s.data.byteLength), port: s.port, address: s.address || '' };
    c.inflight.set(id, { sock: remote.sock, req: s.req, socketId: remote.socketId, datagram });
    return datagram;
  });
  remote.sending += datagrams.length;
  const batch = { socket_id: remote.socketId, datagrams };
  if (c.sendBacklog) c.sendBacklog.push(batch); // behind the ones a restarting daemon did not take
  else sendCall(c).write(batch);
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
      const metadata = callMetadata(op.options);
      const waitMetadata = metadata.clone();
      waitMetadata.setOptions({ waitForReady: true });
      connections.set(op.conn, {
        client, broken, metadata, waitMetadata, sendCall: null, nextId: 1, inflight: new Map(),
        sendRestartUntil: 0, sendBacklog: null, sendTimer: null, sendGaveUp: null, reattaching: 0,
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
