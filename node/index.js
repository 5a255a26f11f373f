'use strict';
// dgramd: node:dgram with its sockets hosted by a dgramd daemon. Use it in place of node:dgram:
//   const dgram = require('dgramd');   // DGRAMD_TARGET (default 127.0.0.1:50051), DGRAMD_TOKEN, DGRAMD_TLS_*
//   const dgram = require('dgramd').connect({ target: 'unix:/run/dgramd.sock' });  // one daemon
const { Socket, kConnection } = require('./lib/socket');
const { Connection, fromEnvironment } = require('./lib/connection');

/** The node:dgram API (createSocket, Socket) bound to one connection. */
function api(connection) {
  let BoundSocket = Socket;
  if (connection) {
    // A Socket constructor of its own, so `new dgram.Socket(...)` uses this daemon too; its
    // instances are still `instanceof` the package's Socket.
    BoundSocket = function Socket(type, listener) {
      if (!new.target) throw new TypeError("Class constructor Socket cannot be invoked without 'new'");
      return Reflect.construct(BaseSocket, [type, listener], new.target);
    };
    BoundSocket.prototype = Object.create(Socket.prototype, { constructor: { value: BoundSocket, writable: true, configurable: true } });
    Object.setPrototypeOf(BoundSocket, Socket);
    BoundSocket[kConnection] = connection;
  }
  return {
    createSocket(type, listener) {
      return new BoundSocket(type, listener);
    },
    Socket: BoundSocket,
    /** The same API bound to the daemon these options name (see README: target, token, tls*). */
    connect(options = {}) {
      return api(new Connection(options));
    },
  };
}

const BaseSocket = Socket;
Socket[kConnection] = fromEnvironment();
// Start the worker and connect to the default daemon now: require() returns once the worker has
// loaded gRPC and the contract (100-300 ms, as if this thread had loaded them), so that a first
// bind answers about as soon as Node's would. The worker and the connection never keep the
// process alive.
// (Not inside that worker itself, should a preload of the program load this package there.)
if (!(require('node:worker_threads').workerData || {}).dgramdWorker) Socket[kConnection].warm();

module.exports = api(null);
