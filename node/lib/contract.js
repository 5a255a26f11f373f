'use strict';
// The dgramd contract as grpc-js sees it: the service loaded from dgramd.proto, the credentials of a
// connection, and the Node error carried by a failed call (google.rpc.ErrorInfo in its status details).
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

/**
 * Where dgramd.proto is: a copy inside the package (what a published package ships, made by the
 * prepack script) or else the repository's proto module, next to this package.
 */
function protoRoot() {
  const shipped = path.join(__dirname, '..', 'proto');
  if (fs.existsSync(path.join(shipped, 'dgramd', 'v1', 'dgramd.proto'))) return shipped;
  return path.join(__dirname, '..', '..', 'proto', 'src', 'main', 'proto');
}

/** The first pause before reconnecting to a daemon that refused the connection. */
const RECONNECT_BACKOFF_MS = 10;

let service;
/** The Dgram client constructor, loaded once. */
function dgramService() {
  if (!service) {
    const definition = protoLoader.loadSync('dgramd/v1/dgramd.proto', {
      includeDirs: [protoRoot()],
      keepCase: true, // socket_id, multicast_address, ... as in the .proto
      enums: Number, // SocketType by number: the same whatever the values are named
      longs: Number, // uint64 counters fit a double
      defaults: true,
      oneofs: true, // SocketEvent.event names the member that is set
    });
    service = grpc.loadPackageDefinition(definition).dgramd.v1.Dgram;
  }
  return service;
}

function readPem(file, what) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`dgramd: cannot read ${what} ${file}: ${e.message}`);
  }
}

/**
 * A grpc-js client for one daemon. options: target, token, tlsCa, tlsCert, tlsKey, tlsServerName
 * (file paths). TLS is used when any TLS option is set. connectNow: connect at once rather than
 * at the first call.
 */
function newClient(options, connectNow) {
  const tls = options.tlsCa || options.tlsCert || options.tlsKey;
  const credentials = tls
    ? grpc.credentials.createSsl(
      options.tlsCa ? readPem(options.tlsCa, 'CA certificates') : null,
      options.tlsKey ? readPem(options.tlsKey, 'client key') : null,
      options.tlsCert ? readPem(options.tlsCert, 'client certificate') : null)
    : grpc.credentials.createInsecure();
  const channelOptions = {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    // Reconnect after 10 ms at first rather than gRPC's 1 s (growing 1.6 times per failed try, as
    // gRPC's backoff does): a daemon restarting by hand-over is away for a few milliseconds only,
    // between the old process closing its listener and the new one listening.
    'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS,
  };
  if (options.tlsServerName) channelOptions['grpc.ssl_target_name_override'] = options.tlsServerName;
  // The channel first, connecting while the .proto is being loaded.
  const channel = new grpc.Channel(options.target, credentials, channelOptions);
  if (connectNow) channel.getConnectivityState(true);
  const Dgram = dgramService();
  return new Dgram(options.target, credentials, { ...channelOptions, channelOverride: channel });
}

/** The metadata every call carries: the bearer token, when there is one. */
function callMetadata(options) {
  const metadata = new grpc.Metadata();
  if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
  return metadata;
}

// ---- google.rpc.Status / ErrorInfo, decoded by hand (three messages, strings and bytes only) ----

/** Fields of a protobuf message: [fieldNumber, value] with length-delimited values as Buffers. */
function* fields(buf) {
  let i = 0;
  const varint = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key % 8;
    const number = Math.floor(key / 8);
    if (wire === 0) yield [number, varint()];
    else if (wire === 2) {
      const len = varint();
      yield [number, buf.subarray(i, i + len)];
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return;
  }
}

/** The ErrorInfo {reason, metadata} in a status-details trailer, or undefined. */
function errorInfo(details) {
  for (const [n, any] of fields(details)) {
    if (n !== 3) continue; // Status.details
    let typeUrl = '';
    let value;
    for (const [m, v] of fields(any)) {
      if (m === 1) typeUrl = v.toString();
      if (m === 2) value = v;
    }
    if (!typeUrl.endsWith('/google.rpc.ErrorInfo') || !value) continue;
    const info = { reason: '', metadata: {} };
    for (const [m, v] of fields(value)) {
      if (m === 1) info.reason = v.toString();
      if (m === 3) {
        let key = '';
        let val = '';
        for (const [k, x] of fields(v)) {
          if (k === 1) key = x.toString();
          if (k === 2) val = x.toString();
        }
        info.metadata[key] = val;
      }
    }
    return info;
  }
  return undefined;
}

const DGRAMD_CODES = {
  [grpc.status.UNAVAILABLE]: 'ERR_DGRAMD_UNAVAILABLE',
  [grpc.status.UNAUTHENTICATED]: 'ERR_DGRAMD_UNAUTHENTICATED',
  [grpc.status.DEADLINE_EXCEEDED]: 'ERR_DGRAMD_TIMEOUT',
  [grpc.status.CANCELLED]: 'ERR_DGRAMD_UNAVAILABLE',
};

/**
 * A failed call as a plain Node error description {code, errno, syscall, address, port, message}:
 * the ErrorInfo's reason and metadata when the daemon sent one, else an ERR_DGRAMD_* code.
 */
function callError(err) {
  const [details] = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  const info = details && errorInfo(details);
  if (info && info.reason) {
    const m = info.metadata;
    return {
      code: info.reason,
      errno: m.errno ? Number(m.errno) : 0,
      syscall: m.syscall || '',
      address: m.address || '',
      port: m.port ? Number(m.port) : 0,
      message: err.details || info.reason,
    };
  }
  const code = DGRAMD_CODES[err.code] || 'ERR_DGRAMD_CALL_FAILED';
  return { code, errno: 0, syscall: '', address: '', port: 0, message: `dgramd: ${err.details || err.message}` };
}

/** An Error message of the contract as the same description; errno read under either field name. */
function eventError(error) {
  return {
    code: error.code,
    errno: error.error_number ?? error.errno ?? 0,
    syscall: error.syscall,
    address: error.address,
    port: error.port,
    message: error.message,
  };
}

module.exports = { newClient, callMetadata, callError, eventError, grpc };
