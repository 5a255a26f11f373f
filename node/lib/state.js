'use strict';
// The state of one dgram.Socket: Node's (bind and connect states, the queue of work waiting for an
// implicit bind) and the remote socket's (what the worker knows, the bound and connected
// addresses), and what the worker's messages about it do: the events they emit and the errors,
// made as Node makes them.
const { bridge } = require('./bridge');
const {
  codes, errnoException, exceptionWithHostPort, dgramdError,
} = require('./errors');

const UNBOUND = 0;
const BINDING = 1;
const BOUND = 2;
const DISCONNECTED = 0;
const CONNECTING = 1;
const CONNECTED = 2;
const SOCKET_TYPES = { udp4: 1, udp6: 2 }; // SocketType by number: the same whatever the values are named

/**
 * The state of one socket: Node's (bind and connect states, the queue of work waiting for an
 * implicit bind) and the remote one (what the worker knows, the bound and connected addresses).
 */
class State {
  constructor(socket, type, connection, options, lookup) {
    this.socket = socket;
    this.type = type;
    this.connection = connection;
    this.lookup = lookup;
    this.open = true; // Node's "handle" exists
    this.receiving = false;
    this.bindState = UNBOUND;
    this.connectState = DISCONNECTED;
    this.queue = undefined;
    this.reuseAddr = options && options.reuseAddr;
    this.ipv6Only = options && options.ipv6Only;
    this.recvBufferSize = options && options.recvBufferSize;
    this.sendBufferSize = options && options.sendBufferSize;
    this.reusePort = options && options.reusePort;
    this.name = options && options.name;
    this.keepAlive = options && options.keepAlive; // milliseconds
    this.sock = 0; // the worker's name for it, once told
    this.ref = true;
    this.holding = false;
    this.address = null;
    this.remote = null;
    this.bindArgs = null; // {ip, port} of the bind in progress
    this.connectArgs = null; // {address, port, callback} of the connect in progress
    this.sendQueueCount = 0;
    this.sendQueueSize = 0;
    this.droppedMessages = 0;
  }

  /** The worker's id of this socket, registering it (and its connection) on first use. */
  remoteId() {
    if (!this.sock) {
      this.sock = bridge.register(this);
      bridge.post({
        op: 'socket',
        sock: this.sock,
        conn: this.connection.id(),
        create: {
          type: SOCKET_TYPES[this.type],
          reuse_addr: !!this.reuseAddr,
          reuse_port: !!this.reusePort,
          ipv6_only: !!this.ipv6Only,
          recv_buffer_size: this.recvBufferSize || 0,
          send_buffer_size: this.sendBufferSize || 0,
          name: this.name || '',
          ...(this.keepAlive === undefined ? {} : {
            keep_alive: { seconds: Math.floor(this.keepAlive / 1000), nanos: (this.keepAlive % 1000) * 1e6 },
          }),
        },
      });
    }
    return this.sock;
  }

  /**
   * Holds the event loop as node:dgram's handle and requests do: while a bind is in progress (in
   * Node a lookup request and a bind done within the same turn), and while the socket is bound and
   * ref'd. (Sends and closes waiting for the daemon hold it too, see bridge.js.)
   */
  updateHold() {
    const hold = this.open && (this.bindState === BINDING || (this.ref && this.bindState === BOUND));
    if (hold !== this.holding) {
      this.holding = hold;
      bridge.hold(hold ? 1 : -1);
    }
  }

  /** A synchronous call to the daemon: {value} or {err}. */
  sync(method, request) {
    return bridge.sync(this.remoteId(), method, request);
  }

  onWorker(msg) {
    switch (msg.t) {
      case 'ev': return this.onEvents(msg.events, msg.data);
      case 'fail': return this.onCallFailed(msg.what, msg.err);
      case 'gone': return this.onGone(msg.err, msg.created);
      case 'closed':
        bridge.unregister(this.sock);
        bridge.hold(-1);
        return undefined;
      default: return undefined;
    }
  }

  onEvents(events, data) {
    for (const e of events) {
      if (!this.open) return;
      if (e.message) {
        const [offset, length, address, family, port] = e.message;
        const buf = length > 0 ? Buffer.from(data, offset, length) : Buffer.alloc(0);
        this.socket.emit('message', buf, { address, family, port, size: length });
      } else if (e.listening) {
        this.onListening(e.listening);
      } else if (e.connect) {
        this.onConnected(e.connect);
      } else if (e.error) {
        this.onError(e.error);
      } else if (e.close) {
        this.onGone({ code: 'ERR_DGRAMD_UNAVAILABLE', message: 'dgramd: the daemon closed the socket' }, true);
      } else if (e.dropped) {
        this.droppedMessages += e.dropped;
      }
    }
  }

  onListening(address) {
    if (this.bindState !== BINDING) return; // bound by the daemon for a membership call: Node stays unbound
    this.address = { address: address.address, family: address.family, port: address.port };
    this.bindArgs = null;
    this.receiving = true;
    this.bindState = BOUND;
    this.updateHold();
    this.socket.emit('listening');
  }

  onConnected(remote) {
    if (this.connectState !== CONNECTING) return;
    this.remote = { address: remote.address, family: remote.family, port: remote.port };
    this.connectState = CONNECTED;
    this.connectArgs = null;
    this.socket.emit('connect');
  }

  onError(err) {
    if (this.bindState === BINDING && this.bindArgs && (err.syscall === 'bind' || !this.connectArgs)) {
      return this.onCallFailed('bind', err);
    }
    if (this.connectState === CONNECTING && this.connectArgs && err.syscall === 'connect') {
      return this.onCallFailed('connect', err);
    }
    this.socket.emit('error', systemError(err));
  }

  onCallFailed(what, err) {
    if (!this.open) return;
    if (what === 'bind') {
      const { ip, port } = this.bindArgs || {};
      this.bindArgs = null;
      this.bindState = UNBOUND;
      this.updateHold();
      const ex = /^ERR_/.test(err.code) ? dgramdError(err.code, err.message)
        : withPolicy(exceptionWithHostPort(err.code, 'bind', ip, port, err.errno), err);
      this.socket.emit('error', ex);
      return;
    }
    const { address, port, callback } = this.connectArgs || {};
    this.connectArgs = null;
    this.connectState = DISCONNECTED;
    const ex = /^ERR_/.test(err.code) ? dgramdError(err.code, err.message)
      : withPolicy(exceptionWithHostPort(err.code, 'connect', address, port, err.errno), err);
    if (callback) {
      this.socket.removeListener('connect', callback);
      callback(ex);
    } else {
      this.socket.emit('error', ex);
    }
  }

  /** The socket was lost (daemon gone, or it closed the socket): 'error', then 'close'. */
  onGone(err, created) {
    if (!this.open) return;
    void created;
    this.socket.emit('error', dgramdError(err.code || 'ERR_DGRAMD_UNAVAILABLE', err.message));
    if (!this.open) return;
    this.open = false;
    this.receiving = false;
    this.queue = undefined;
    this.updateHold();
    bridge.unregister(this.sock);
    process.nextTick(() => this.socket.emit('close'));
  }
}

/** An error event or answer of the daemon as Node would make it. */
function systemError(err) {
  if (/^ERR_/.test(err.code) || !err.syscall) return dgramdError(err.code, err.message);
  if (err.address) return exceptionWithHostPort(err.code, err.syscall, err.address, err.port, err.errno);
  return errnoException(err.code, err.syscall, err.errno);
}

/** Node's error `ex` for the daemon's `err`, keeping the policy rule the daemon's message names. */
function withPolicy(ex, err) {
  const rule = /\s\(policy: .*\)$/.exec(err.message || '');
  if (rule) ex.message += rule[0];
  return ex;
}

/** A sync call's failure as node:dgram throws it from `syscall`. */
function thrown(err, syscall) {
  if (/^ERR_/.test(err.code)) {
    if (err.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') return codes.ERR_SOCKET_DGRAM_NOT_RUNNING();
    return dgramdError(err.code, err.message);
  }
  return withPolicy(errnoException(err.code, syscall, err.errno), err);
}

module.exports = {
  State, systemError, withPolicy, thrown, UNBOUND, BINDING, BOUND, DISCONNECTED, CONNECTING, CONNECTED,
};
