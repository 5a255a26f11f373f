'use strict';
// Node's errors, as node:dgram throws and emits them: the same classes, codes, messages and
// properties (`code`, `errno`, `syscall`, `address`, `port`), written from Node's documented
// formats because Node's internal/errors module is not reachable from a package.
const os = require('node:os');
const util = require('node:util');

const TYPE_NAMES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const CLASS_NAME = /^[A-Z][a-zA-Z0-9]*$/;

/** "a, b, or c", as Node lists expected types. */
function formatList(items, conjunction = 'and') {
  if (items.length <= 2) return items.join(` ${conjunction} `);
  return `${items.slice(0, -1).join(', ')}, ${conjunction} ${items[items.length - 1]}`;
}

/** How Node's messages describe a received value: "type number (1)", "an instance of Object", ... */
function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint': return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      return `type number (${value})`;
    case 'boolean': return `type boolean (${value})`;
    case 'symbol': return `type symbol (${String(value)})`;
    case 'function': return `function ${value.name}`;
    case 'object':
      if (value.constructor && 'name' in value.constructor) return `an instance of ${value.constructor.name}`;
      return util.inspect(value, { depth: -1 });
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default: return `type ${typeof value} (${util.inspect(value)})`;
  }
}

/**
 * An error of Node's internal kind: `name` is the class name, `code` an own enumerable property,
 * the stack and toString() read "TypeError [CODE]: message".
 */
function nodeError(Base, code, message, caller) {
  const error = new Base(message);
  Object.defineProperty(error, 'name', { value: `${Base.name} [${code}]`, configurable: true, writable: true });
  Error.captureStackTrace(error, caller || nodeError);
  void error.stack; // formats the header with the code while the name holds it
  delete error.name;
  error.code = code;
  Object.defineProperty(error, 'toString', {
    value() { return `${this.name} [${code}]: ${this.message}`; },
    enumerable: false, writable: true, configurable: true,
  });
  return error;
}

function invalidArgType(name, expected, actual) {
  const list = Array.isArray(expected) ? expected : [expected];
  let msg = 'The ';
  if (name.endsWith(' argument')) msg += `${name} `;
  else msg += `"${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  msg += 'must be ';
  const types = [];
  const instances = [];
  const other = [];
  for (const value of list) {
    if (TYPE_NAMES.includes(value)) types.push(value.toLowerCase());
    else if (CLASS_NAME.test(value)) instances.push(value);
    else other.push(value);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  if (types.length > 0) {
    msg += `${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += `an instance of ${formatList(instances, 'or')}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) msg += `one of ${formatList(other, 'or')}`;
    else msg += `${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `${msg}. Received ${describe(actual)}`, invalidArgType);
}

function outOfRange(name, range, input) {
  let received;
  if (Number.isInteger(input) && Math.abs(input) > 2 ** 32) {
    received = String(input).replace(/\B(?=(\d{3})+(?!\d))/g, '_');
  } else {
    received = util.inspect(input);
  }
  return nodeError(RangeError, 'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${received}`, outOfRange);
}

const codes = {
  ERR_INVALID_ARG_TYPE: invalidArgType,
  ERR_OUT_OF_RANGE: outOfRange,
  ERR_INVALID_ARG_VALUE: (name, value, reason = 'is invalid') => {
    let shown = util.inspect(value);
    if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
    return nodeError(TypeError, 'ERR_INVALID_ARG_VALUE',
      `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`);
  },
  ERR_MISSING_ARGS: (...names) => nodeError(TypeError, 'ERR_MISSING_ARGS',
    `The ${formatList(names.map((n) => `"${n}"`))} argument${names.length > 1 ? 's' : ''} must be specified`),
  ERR_BUFFER_OUT_OF_BOUNDS: (name) => nodeError(RangeError, 'ERR_BUFFER_OUT_OF_BOUNDS',
    name ? `"${name}" is outside of buffer bounds` : 'Attempt to access memory outside buffer bounds'),
  ERR_SOCKET_BAD_PORT: (name, port, allowZero = true) => nodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
    `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describe(port)}.`),
  ERR_SOCKET_BAD_TYPE: () => nodeError(TypeError, 'ERR_SOCKET_BAD_TYPE',
    'Bad socket type specified. Valid types are: udp4, udp6'),
  ERR_SOCKET_BAD_BUFFER_SIZE: () => nodeError(TypeError, 'ERR_SOCKET_BAD_BUFFER_SIZE',
    'Buffer size must be a positive integer'),
  ERR_SOCKET_ALREADY_BOUND: () => nodeError(Error, 'ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound'),
  ERR_SOCKET_DGRAM_IS_CONNECTED: () => nodeError(Error, 'ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected'),
  ERR_SOCKET_DGRAM_NOT_CONNECTED: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected'),
  ERR_SOCKET_DGRAM_NOT_RUNNING: () => nodeError(Error, 'ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running'),
  ERR_INVALID_FD_TYPE: (type) => nodeError(TypeError, 'ERR_INVALID_FD_TYPE', `Unsupported fd type: ${type}`),
};

/** Node's negative errno of a system error code (EADDRINUSE -> -98 on Linux), or undefined. */
function errnoOf(code, given) {
  if (given) return given;
  const n = os.constants.errno[code];
  return n === undefined ? undefined : -n;
}

/** The text libuv gives a system error ("bad file descriptor"), for SystemError messages. */
function describeErrno(errno) {
  const entry = errno !== undefined && util.getSystemErrorMap().get(errno);
  return entry ? entry[1] : 'unknown error';
}

/** Node's ErrnoException: "syscall CODE", with errno, code and syscall. */
function errnoException(code, syscall, errno, caller) {
  const error = new Error(`${syscall} ${code}`);
  error.errno = errnoOf(code, errno);
  error.code = code;
  error.syscall = syscall;
  Error.captureStackTrace(error, caller || errnoException);
  return error;
}

/** Node's ExceptionWithHostPort: "syscall CODE address:port", with address and (when > 0) port. */
function exceptionWithHostPort(code, syscall, address, port, errno, caller) {
  let details = '';
  if (port && port > 0) details = ` ${address}:${port}`;
  else if (address) details = ` ${address}`;
  const error = new Error(`${syscall} ${code}${details}`);
  error.errno = errnoOf(code, errno);
  error.code = code;
  error.syscall = syscall;
  error.address = address;
  if (port) error.port = port;
  Error.captureStackTrace(error, caller || exceptionWithHostPort);
  return error;
}

/** ERR_SOCKET_BUFFER_SIZE, a SystemError wrapping the failure of uv_{recv,send}_buffer_size. */
function bufferSizeError(recv, code, errno) {
  const syscall = recv ? 'uv_recv_buffer_size' : 'uv_send_buffer_size';
  const number = errnoOf(code, errno);
  const info = { errno: number, code, message: describeErrno(number), syscall };
  const error = nodeError(Error, 'ERR_SOCKET_BUFFER_SIZE',
    `Could not get or set buffer size: ${syscall} returned ${code} (${info.message})`, bufferSizeError);
  Object.defineProperty(error, 'name', { value: 'SystemError', configurable: true, writable: true, enumerable: false });
  error.info = info;
  error.errno = number;
  error.syscall = syscall;
  Object.defineProperty(error, 'toString', {
    value() { return `SystemError [ERR_SOCKET_BUFFER_SIZE]: ${this.message}`; },
    enumerable: false, writable: true, configurable: true,
  });
  return error;
}

/**
 * An error of dgramd itself (ERR_DGRAMD_UNAVAILABLE, ...) or a Node code the daemon answered that
 * has no syscall: an Error with that code and the daemon's message.
 */
function dgramdError(code, message) {
  const error = new Error(message);
  error.code = code;
  Error.captureStackTrace(error, dgramdError);
  return error;
}

module.exports = {
  codes,
  describe,
  errnoException,
  exceptionWithHostPort,
  bufferSizeError,
  dgramdError,
};
