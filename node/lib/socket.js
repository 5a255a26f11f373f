'use strict';
// dgram.Socket, with its UDP socket in a dgramd daemon. The checks, states, queueing of work behind
// an implicit bind, and the order of events follow node:dgram; what a libuv handle does there is a
// message to the worker (bridge.js) here, answered asynchronously (bind, connect, send, close) or
// synchronously (the setters and getters Node answers at once).
const EventEmitter = require('node:events');
const dns = require('node:dns');
const { deprecate, promisify } = require('node:util');
const { bridge } = require('./bridge');
const {
  codes, errnoException, exceptionWithHostPort, bufferSizeError, dgramdError,
} = require('./errors');
const {
  validateNumber, validateString, validateFunction, validateUint32, validateAbortSignal, validatePort, isInt32,
} = require('./validators');

const kState = Symbol('dgramd socket state');
const kConnection = Symbol('dgramd connection');

const {
  State, withPolicy, thrown, UNBOUND, BINDING, BOUND, DISCONNECTED, CONNECTING, CONNECTED,
} = require('./state');

/** The bytes of sends waiting for the daemon, across all sockets; beyond this a send fails ENOBUFS. */
const MAX_PENDING_SEND_BYTES = Number(process.env.DGRAMD_MAX_PENDING_SEND_BYTES) || 64 * 1024 * 1024;
let pendingSendBytes = 0;

function isArrayBufferView(value) {
  return ArrayBuffer.isView(value);
}

function healthCheck(socket) {
  if (!socket[kState].open) throw codes.ERR_SOCKET_DGRAM_NOT_RUNNING();
}

// ---- The Socket ----------------------------------------------------------------------------------

/**
 * Socket(type | options[, listener]): as dgram.Socket. The daemon is the connection of the API the
 * constructor belongs to (the default one, or one made by connect()).
 */
function Socket(type, listener) {
  EventEmitter.call(this);
  let lookup;
  let options;
  if (type !== null && typeof type === 'object') {
    options = type;
    type = options.type;
    lookup = options.lookup;
    if (options.recvBufferSize) validateUint32(options.recvBufferSize, 'options.recvBufferSize');
    if (options.sendBufferSize) validateUint32(options.sendBufferSize, 'options.sendBufferSize');
    // dgramd extensions (a named socket that outlives its program; see the README)
    if (options.name !== undefined) validateString(options.name, 'options.name');
    if (options.keepAlive !== undefined) validateUint32(options.keepAlive, 'options.keepAlive');
  }
  if (lookup === undefined) lookup = dns.lookup;
  else validateFunction(lookup, 'lookup');
  if (type !== 'udp4' && type !== 'udp6') throw codes.ERR_SOCKET_BAD_TYPE();

  this.type = type;
  if (typeof listener === 'function') this.on('message', listener);

  const connection = (new.target && new.target[kConnection]) || this.constructor[kConnection] || Socket[kConnection];
  this[kState] = new State(this, type, connection, options, lookup);

  if (options && options.signal !== undefined) {
    const { signal } = options;
    validateAbortSignal(signal, 'options.signal');
    const onAborted = () => {
      if (this[kState].open) this.close();
    };
    if (signal.aborted) {
      onAborted();
    } else {
      const disposable = EventEmitter.addAbortListener(signal, onAborted);
      this.once('close', disposable[Symbol.dispose]);
    }
  }
}
Object.setPrototypeOf(Socket.prototype, EventEmitter.prototype);
Object.setPrototypeOf(Socket, EventEmitter);

/** Resolves an address as Node does: the lookup option, or dns.lookup, with 127.0.0.1 / ::1 for ''. */
function lookupAddress(state, address, callback) {
  if (state.type === 'udp4') return state.lookup(address || '127.0.0.1', 4, callback);
  return state.lookup(address || '::1', 6, callback);
}

Socket.prototype.bind = function bind(port_, address_ /* , callback */) {
  let port = port_;
  healthCheck(this);
  const state = this[kState];
  if (state.bindState !== UNBOUND) throw codes.ERR_SOCKET_ALREADY_BOUND();
  state.bindState = BINDING;

  const cb = arguments.length && arguments[arguments.length - 1];
  if (typeof cb === 'function') {
    const removeListeners = () => {
      this.removeListener('error', removeListeners);
      this.removeListener('listening', onListening);
    };
    const onListening = () => {
      removeListeners();
      cb.call(this);
    };
    this.on('error', removeListeners);
    this.on('listening', onListening);
  }

  if (port !== null && typeof port === 'object' &&
      (typeof port.recvStart === 'function' || (isInt32(port.fd) && port.fd > 0))) {
    state.bindState = UNBOUND;
    throw dgramdError('ERR_DGRAMD_UNSUPPORTED',
      'bind() of a handle or file descriptor is not supported: the socket lives in the dgramd daemon');
  }

  let address;
  let exclusive;
  if (port !== null && typeof port === 'object') {
    address = port.address || '';
    exclusive = !!port.exclusive;
    port = port.port;
  } else {
    address = typeof address_ === 'function' ? '' : address_;
    exclusive = false;
  }
  if (!address) address = this.type === 'udp4' ? '0.0.0.0' : '::';

  state.updateHold();
  lookupAddress(state, address, (err, ip) => {
    if (!state.open) return; // closed in the meantime
    if (err) {
      state.bindState = UNBOUND;
      state.updateHold();
      this.emit('error', err);
      return;
    }
    state.bindArgs = { ip, port };
    // As libuv takes it: the port as an unsigned 32-bit number, of which a sockaddr keeps 16 bits.
    const wirePort = (Number(port) >>> 0) & 0xffff;
    bridge.post({ op: 'bind', sock: state.remoteId(), port: wirePort, address: ip, exclusive });
  });
  return this;
};

Socket.prototype.connect = function connect(port, address, callback) {
  port = validatePort(port, 'Port', false);
  if (typeof address === 'function') {
    callback = address;
    address = '';
  } else if (address === undefined) {
    address = '';
  }
  validateString(address, 'address');
  const state = this[kState];
  if (state.connectState !== DISCONNECTED) throw codes.ERR_SOCKET_DGRAM_IS_CONNECTED();
  state.connectState = CONNECTING;
  if (state.bindState === UNBOUND) this.bind({ port: 0, exclusive: true }, null);
  if (state.bindState !== BOUND) {
    enqueue(this, () => startConnect(this, port, address, callback));
    return;
  }
  startConnect(this, port, address, callback);
};

function startConnect(socket, port, address, callback) {
  const state = socket[kState];
  if (callback) socket.once('connect', callback);
  lookupAddress(state, address, (ex, ip) => {
    if (!state.open) return;
    if (ex) {
      state.connectState = DISCONNECTED;
      process.nextTick(() => {
        if (callback) {
          socket.removeListener('connect', callback);
          callback(ex);
        } else {
          socket.emit('error', ex);
        }
      });
      return;
    }
    state.connectArgs = { address, port, callback };
    bridge.post({ op: 'connect', sock: state.remoteId(), port, address: ip });
  });
}

Socket.prototype.disconnect = function disconnect() {
  const state = this[kState];
  if (state.connectState !== CONNECTED) throw codes.ERR_SOCKET_DGRAM_NOT_CONNECTED();
  const { err } = state.sync('Disconnect', {});
  if (err) throw thrown(err, 'connect');
  state.connectState = DISCONNECTED;
  state.remote = null;
};

Socket.prototype.sendto = function sendto(buffer, offset, length, port, address, callback) {
  validateNumber(offset, 'offset');
  validateNumber(length, 'length');
  validateNumber(port, 'port');
  validateString(address, 'address');
  this.send(buffer, offset, length, port, address, callback);
};

function sliceBuffer(buffer, offset, length) {
  if (typeof buffer === 'string') {
    buffer = Buffer.from(buffer);
  } else if (!isArrayBufferView(buffer)) {
    throw codes.ERR_INVALID_ARG_TYPE('buffer', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
  }
  offset >>>= 0;
  length >>>= 0;
  if (offset > buffer.byteLength) throw codes.ERR_BUFFER_OUT_OF_BOUNDS('offset');
  if (offset + length > buffer.byteLength) throw codes.ERR_BUFFER_OUT_OF_BOUNDS('length');
  return Buffer.from(buffer.buffer, buffer.byteOffset + offset, length);
}

function fixBufferList(list) {
  const out = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const buf = list[i];
    if (typeof buf === 'string') out[i] = Buffer.from(buf);
    else if (!isArrayBufferView(buf)) return null;
    else out[i] = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return out;
}

/** Work waiting for the implicit bind: run after 'listening', dropped if the bind fails. */
function enqueue(socket, work) {
  const state = socket[kState];
  if (state.queue === undefined) {
    state.queue = [];
    socket.once(EventEmitter.errorMonitor, onListenError);
    socket.once('listening', onListenSuccess);
  }
  state.queue.push(work);
}

function onListenSuccess() {
  this.removeListener(EventEmitter.errorMonitor, onListenError);
  const state = this[kState];
  const queue = state.queue;
  state.queue = undefined;
  for (const work of queue) work();
}

function onListenError() {
  this.removeListener('listening', onListenSuccess);
  this[kState].queue = undefined;
}

Socket.prototype.send = function send(buffer, offset, length, port, address, callback) {
  let list;
  const state = this[kState];
  const connected = state.connectState === CONNECTED;
  if (!connected) {
    if (address || (port && typeof port !== 'function')) {
      buffer = sliceBuffer(buffer, offset, length);
    } else {
      callback = port;
      port = offset;
      address = length;
    }
  } else {
    if (typeof length === 'number') {
      buffer = sliceBuffer(buffer, offset, length);
      if (typeof port === 'function') {
        callback = port;
        port = null;
      }
    } else {
      callback = offset;
    }
    if (port || address) throw codes.ERR_SOCKET_DGRAM_IS_CONNECTED();
  }

  if (!Array.isArray(buffer)) {
    if (typeof buffer === 'string') {
      list = [Buffer.from(buffer)];
    } else if (!isArrayBufferView(buffer)) {
      throw codes.ERR_INVALID_ARG_TYPE('buffer', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
    } else {
      list = [buffer];
    }
  } else if (!(list = fixBufferList(buffer))) {
    throw codes.ERR_INVALID_ARG_TYPE('buffer list arguments', ['Buffer', 'TypedArray', 'DataView', 'string'], buffer);
  }

  if (!connected) port = validatePort(port, 'Port', false);
  if (typeof callback !== 'function') callback = undefined;
  if (typeof address === 'function') {
    callback = address;
    address = undefined;
  } else if (address != null) {
    validateString(address, 'address');
  }

  healthCheck(this);
  if (state.bindState === UNBOUND) this.bind({ port: 0, exclusive: true }, null);
  if (list.length === 0) list.push(Buffer.alloc(0));
  if (state.bindState !== BOUND) {
    enqueue(this, () => this.send(list, port, address, callback));
    return;
  }

  if (!connected) {
    lookupAddress(state, address, (ex, ip) => doSend(ex, this, ip, list, address, port, callback));
  } else {
    doSend(null, this, null, list, address, port, callback);
  }
};

function doSend(ex, socket, ip, list, address, port, callback) {
  const state = socket[kState];
  if (ex) {
    if (typeof callback === 'function') process.nextTick(callback, ex);
    else process.nextTick(() => socket.emit('error', ex));
    return;
  }
  if (!state.open) return;

  let size = 0;
  for (const buf of list) size += buf.byteLength;
  if (pendingSendBytes + size > MAX_PENDING_SEND_BYTES) {
    if (callback) process.nextTick(callback, exceptionWithHostPort('ENOBUFS', 'send', address, port));
    return;
  }
  // One fresh buffer, moved (not copied) to the worker.
  const data = new Uint8Array(size);
  let offset = 0;
  for (const buf of list) {
    data.set(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), offset);
    offset += buf.byteLength;
  }
  pendingSendBytes += size;
  state.sendQueueCount++;
  state.sendQueueSize += size;
  bridge.send(state.remoteId(), data, port, ip, (err, bytes) => {
    pendingSendBytes -= size;
    state.sendQueueCount--;
    state.sendQueueSize -= size;
    if (!callback) return; // Node reports a send's failure only to its callback
    if (err) {
      const ex = /^ERR_/.test(err.code) ? dgramdError(err.code, err.message)
        : withPolicy(exceptionWithHostPort(err.code, 'send', address, port, err.errno), err);
      callback(ex);
    } else {
      callback(null, bytes);
    }
  });
}

Socket.prototype.close = function close(callback) {
  const state = this[kState];
  const queue = state.queue;
  if (typeof callback === 'function') this.on('close', callback);
  if (queue !== undefined) {
    queue.push(() => this.close());
    return this;
  }
  healthCheck(this);
  state.receiving = false;
  state.open = false;
  state.updateHold();
  if (state.sock) {
    bridge.hold(1); // until the daemon has closed it
    bridge.post({ op: 'close', sock: state.sock });
  }
  process.nextTick(() => this.emit('close'));
  return this;
};

Socket.prototype[Symbol.asyncDispose] = async function asyncDispose() {
  if (!this[kState].open) return undefined;
  return promisify(this.close).call(this);
};

Socket.prototype.address = function address() {
  healthCheck(this);
  const state = this[kState];
  if (state.bindState !== BOUND) throw errnoException('EBADF', 'getsockname', undefined, address);
  return { ...state.address };
};

Socket.prototype.remoteAddress = function remoteAddress() {
  healthCheck(this);
  const state = this[kState];
  if (state.connectState !== CONNECTED) throw codes.ERR_SOCKET_DGRAM_NOT_CONNECTED();
  return { ...state.remote };
};

/** A setter node:dgram makes on the handle: synchronous, throwing "syscall CODE" on failure. */
function setOption(socket, method, syscall, request) {
  healthCheck(socket);
  const { err, value } = socket[kState].sync(method, request);
  if (err) throw thrown(err, syscall);
  return value;
}

Socket.prototype.setBroadcast = function setBroadcast(arg) {
  setOption(this, 'SetBroadcast', 'setBroadcast', { flag: !!arg });
};

Socket.prototype.setTTL = function setTTL(ttl) {
  validateNumber(ttl, 'ttl');
  setOption(this, 'SetTtl', 'setTTL', { ttl: wireInt(ttl) });
  return ttl;
};

Socket.prototype.setMulticastTTL = function setMulticastTTL(ttl) {
  validateNumber(ttl, 'ttl');
  setOption(this, 'SetMulticastTtl', 'setMulticastTTL', { ttl: wireInt(ttl) });
  return ttl;
};

/** A number as the int32 the handle would take; out-of-range values stay out of range. */
function wireInt(n) {
  if (!Number.isFinite(n)) return -1;
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(n)));
}

Socket.prototype.setMulticastLoopback = function setMulticastLoopback(arg) {
  setOption(this, 'SetMulticastLoopback', 'setMulticastLoopback', { flag: !!arg });
  return arg;
};

Socket.prototype.setMulticastInterface = function setMulticastInterface(interfaceAddress) {
  healthCheck(this);
  validateString(interfaceAddress, 'interfaceAddress');
  setOption(this, 'SetMulticastInterface', 'setMulticastInterface', { interface_address: interfaceAddress });
};

Socket.prototype.addMembership = function addMembership(multicastAddress, interfaceAddress) {
  healthCheck(this);
  if (!multicastAddress) throw codes.ERR_MISSING_ARGS('multicastAddress');
  setOption(this, 'AddMembership', 'addMembership',
    { multicast_address: String(multicastAddress), interface_address: interfaceAddress ? String(interfaceAddress) : '' });
};

Socket.prototype.dropMembership = function dropMembership(multicastAddress, interfaceAddress) {
  healthCheck(this);
  if (!multicastAddress) throw codes.ERR_MISSING_ARGS('multicastAddress');
  setOption(this, 'DropMembership', 'dropMembership',
    { multicast_address: String(multicastAddress), interface_address: interfaceAddress ? String(interfaceAddress) : '' });
};

Socket.prototype.addSourceSpecificMembership = function addSourceSpecificMembership(
  sourceAddress, groupAddress, interfaceAddress) {
  healthCheck(this);
  validateString(sourceAddress, 'sourceAddress');
  validateString(groupAddress, 'groupAddress');
  setOption(this, 'AddSourceSpecificMembership', 'addSourceSpecificMembership', {
    source_address: sourceAddress, group_address: groupAddress, interface_address: interfaceAddress ? String(interfaceAddress) : '',
  });
};

Socket.prototype.dropSourceSpecificMembership = function dropSourceSpecificMembership(
  sourceAddress, groupAddress, interfaceAddress) {
  healthCheck(this);
  validateString(sourceAddress, 'sourceAddress');
  validateString(groupAddress, 'groupAddress');
  setOption(this, 'DropSourceSpecificMembership', 'dropSourceSpecificMembership', {
    source_address: sourceAddress, group_address: groupAddress, interface_address: interfaceAddress ? String(interfaceAddress) : '',
  });
};

/** get/set{Recv,Send}BufferSize: size 0 reads the kernel's value, as libuv's uv_*_buffer_size. */
function bufferSize(socket, size, recv) {
  if (size >>> 0 !== size) throw codes.ERR_SOCKET_BAD_BUFFER_SIZE();
  const state = socket[kState];
  if (!state.open) throw bufferSizeError(recv, 'EBADF');
  const method = `${size === 0 ? 'Get' : 'Set'}${recv ? 'Recv' : 'Send'}BufferSize`;
  const { err, value } = state.sync(method, size === 0 ? {} : { size });
  if (err) {
    if (/^ERR_/.test(err.code) && err.code !== 'ERR_SOCKET_BUFFER_SIZE') throw dgramdError(err.code, err.message);
    throw bufferSizeError(recv, err.code === 'ERR_SOCKET_BUFFER_SIZE' ? 'EBADF' : err.code, err.errno || undefined);
  }
  return value.size;
}

Socket.prototype.setRecvBufferSize = function setRecvBufferSize(size) {
  bufferSize(this, size, true);
};

Socket.prototype.setSendBufferSize = function setSendBufferSize(size) {
  bufferSize(this, size, false);
};

Socket.prototype.getRecvBufferSize = function getRecvBufferSize() {
  return bufferSize(this, 0, true);
};

Socket.prototype.getSendBufferSize = function getSendBufferSize() {
  return bufferSize(this, 0, false);
};

Socket.prototype.getSendQueueSize = function getSendQueueSize() {
  return this[kState].sendQueueSize;
};

Socket.prototype.getSendQueueCount = function getSendQueueCount() {
  return this[kState].sendQueueCount;
};

Socket.prototype.ref = function ref() {
  const state = this[kState];
  if (state.open) {
    state.ref = true;
    state.updateHold();
  }
  return this;
};

Socket.prototype.unref = function unref() {
  const state = this[kState];
  if (state.open) {
    state.ref = false;
    state.updateHold();
  }
  return this;
};

// Node's deprecated (DEP0112) internals. There is no libuv handle: _handle is the socket's state
// while it is open (null once closed), and setting it to null closes the socket.
const STATE_PROPERTIES = {
  _handle: [(s) => (s.open ? s : null), (socket, s, v) => { if (v === null && s.open) socket.close(); }],
  _receiving: [(s) => s.receiving, (socket, s, v) => { s.receiving = v; }],
  _bindState: [(s) => s.bindState, (socket, s, v) => { s.bindState = v; }],
  _queue: [(s) => s.queue, (socket, s, v) => { s.queue = v; }],
  _reuseAddr: [(s) => s.reuseAddr, (socket, s, v) => { s.reuseAddr = v; }],
};
for (const [name, [get, set]] of Object.entries(STATE_PROPERTIES)) {
  Object.defineProperty(Socket.prototype, name, {
    get: deprecate(function getDeprecated() { return get(this[kState]); },
      `Socket.prototype.${name} is deprecated`, 'DEP0112'),
    set: deprecate(function setDeprecated(value) { set(this, this[kState], value); },
      `Socket.prototype.${name} is deprecated`, 'DEP0112'),
  });
}

Socket.prototype._healthCheck = deprecate(function _healthCheck() {
  healthCheck(this);
}, 'Socket.prototype._healthCheck() is deprecated', 'DEP0112');

Socket.prototype._stopReceiving = deprecate(function _stopReceiving() {
  this[kState].receiving = false;
}, 'Socket.prototype._stopReceiving() is deprecated', 'DEP0112');

/** dgramd extension: 'message' events the daemon dropped because this socket's reader fell behind. */
Object.defineProperty(Socket.prototype, 'droppedMessages', {
  get() { return this[kState].droppedMessages; },
});

module.exports = { Socket, kConnection };
