'use strict';
// The main thread's side of the worker that holds the gRPC connections (worker.js): ops go out in
// one message per tick, answers and events come back as messages; sync() blocks on a shared cell
// until the worker answers, for the methods node:dgram answers synchronously.
//
// Keeping the process alive: the worker is unref'd, so the connections never hold the event loop.
// A ref'd timer does, while some socket should as a libuv handle would (ref'd, and binding or
// bound) or while sends or closes wait for the daemon.
const path = require('node:path');
const { Worker, MessageChannel, receiveMessageOnPort } = require('node:worker_threads');
const { dgramdError } = require('./errors');

const CALL_TIMEOUT_MS = Number(process.env.DGRAMD_CALL_TIMEOUT_MS) || 10000;
/** How long a socket waits for a daemon restarting by hand-over to come back (see worker.js). */
const RESTART_TIMEOUT_MS = Number(process.env.DGRAMD_RESTART_TIMEOUT_MS) || 30000;

class Bridge {
  constructor() {
    this.worker = null;
    this.outbox = [];
    this.transfer = [];
    this.scheduled = false;
    this.handlers = new Map(); // sock -> socket state (its onWorker* methods)
    this.sendCallbacks = new Map(); // req -> function (err, bytes)
    this.nextReq = 1;
    this.nextSock = 1;
    this.nextConn = 1;
    this.seq = 0;
    this.holds = 0;
    this.keepAlive = null;
  }

  start() {
    if (this.worker) return;
    const cell = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    this.cell = new Int32Array(cell);
    this.syncPort = port1;
    this.syncPort.unref(); // read with receiveMessageOnPort only
    this.worker = new Worker(path.join(__dirname, 'worker.js'), {
      workerData: { dgramdWorker: true, cell, syncPort: port2, callTimeoutMs: CALL_TIMEOUT_MS, restartTimeoutMs: RESTART_TIMEOUT_MS },
      transferList: [port2],
      execArgv: [], // not the program's preloads (a --require of this package would start another worker)
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (msg) => this.onMessage(msg));
    this.worker.on('error', (err) => this.onWorkerLost(err));
    this.worker.unref(); // after the listeners, which would ref it again
  }

  /** A new connection id, its options registered with the worker. */
  connection(options, warm) {
    const conn = this.nextConn++;
    this.post({ op: 'conn', conn, options, warm });
    return conn;
  }

  /** Registers a socket state; the worker learns of it with its first op. */
  register(state) {
    const sock = this.nextSock++;
    this.handlers.set(sock, state);
    return sock;
  }

  unregister(sock) {
    this.handlers.delete(sock);
  }

  post(op, transfer) {
    this.start();
    this.outbox.push(op);
    if (transfer) this.transfer.push(...transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush() {
    this.scheduled = false;
    if (this.outbox.length === 0) return;
    const ops = this.outbox;
    const transfer = this.transfer;
    this.outbox = [];
    this.transfer = [];
    this.worker.postMessage(ops, transfer);
  }

  /**
   * Waits (blocking, bounded) until the worker has handled every op posted so far and connection
   * `conn` is ready or has failed (at most 1 s): after its 'conn' op, gRPC and the contract are
   * loaded. Returns false if the worker did not answer in time.
   */
  ready(conn) {
    const seq = ++this.seq;
    this.post({ op: 'sync', seq, sock: 0, conn, method: 'ready', request: {} });
    return !this.await(seq, 'ready').err;
  }

  /** Holds (+1) or releases (-1) the event loop. */
  hold(delta) {
    this.holds += delta;
    if (!this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30);
    if (this.holds > 0) this.keepAlive.ref();
    else this.keepAlive.unref();
  }

  /** Queues one datagram; callback(err, bytes) gets the daemon's answer. */
  send(sock, data, port, address, callback) {
    const req = this.nextReq++;
    this.sendCallbacks.set(req, callback);
    this.hold(1);
    this.post({ op: 'send', sock, req, data, port: port || 0, address: address || '' }, [data.buffer]);
  }

  /**
   * Calls a unary method in the worker and waits for its answer, blocking this thread (as the
   * system calls behind node:dgram's synchronous methods do). Returns {value} or {err}.
   */
  sync(sock, method, request) {
    const seq = ++this.seq;
    this.post({ op: 'sync', seq, sock, method, request });
    return this.await(seq, method);
  }

  /** Flushes the outbox and blocks until the worker's answer `seq` (of `method`) is in. */
  await(seq, method) {
    this.flush();
    const deadline = Date.now() + CALL_TIMEOUT_MS + 1000;
    for (;;) {
      const current = Atomics.load(this.cell, 0);
      if (current === seq) break;
      const left = deadline - Date.now();
      if (left <= 0) {
        return { err: { code: 'ERR_DGRAMD_TIMEOUT', message: `dgramd: ${method} got no answer within ${CALL_TIMEOUT_MS} ms` } };
      }
      Atomics.wait(this.cell, 0, current, left);
    }
    for (;;) {
      const received = receiveMessageOnPort(this.syncPort);
      if (!received) return { err: { code: 'ERR_DGRAMD_CALL_FAILED', message: 'dgramd: lost the answer' } };
      if (received.message.seq === seq) return received.message;
    }
  }

  onMessage(msg) {
    switch (msg.t) {
      case 'sent':
        for (const [req, bytes, err] of msg.results) {
          const callback = this.sendCallbacks.get(req);
          this.sendCallbacks.delete(req);
          this.hold(-1);
          if (callback) callback(err, bytes);
        }
        return;
      default: {
        const state = this.handlers.get(msg.sock);
        if (state) state.onWorker(msg);
      }
    }
  }

  onWorkerLost(err) {
    const error = { code: 'ERR_DGRAMD_UNAVAILABLE', message: `dgramd: the client's worker failed: ${err.message}` };
    for (const [req, callback] of this.sendCallbacks) {
      this.sendCallbacks.delete(req);
      this.hold(-1);
      callback(error, 0);
    }
    for (const [sock, state] of this.handlers) state.onWorker({ t: 'gone', sock, created: true, err: error });
  }
}

/** The process's one bridge. */
const bridge = new Bridge();

module.exports = { bridge, dgramdError };
