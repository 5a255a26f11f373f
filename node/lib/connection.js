'use strict';
// One daemon to talk to: its target and credentials, registered with the worker on first use.
const { bridge } = require('./bridge');

const DEFAULT_TARGET = '127.0.0.1:50051';

class Connection {
  /**
   * options: target ('host:port' or 'unix:/path'), token, tlsCa, tlsCert, tlsKey (PEM file paths),
   * tlsServerName (the name the daemon's certificate must hold, when not the target's host).
   */
  constructor(options) {
    this.options = {
      target: options.target || DEFAULT_TARGET,
      token: options.token || '',
      tlsCa: options.tlsCa || '',
      tlsCert: options.tlsCert || '',
      tlsKey: options.tlsKey || '',
      tlsServerName: options.tlsServerName || '',
    };
    if (typeof this.options.target !== 'string') throw new TypeError('dgramd: options.target must be a string');
    if (!!this.options.tlsCert !== !!this.options.tlsKey) {
      throw new TypeError('dgramd: tlsCert and tlsKey go together (a client certificate and its key)');
    }
    this.conn = 0;
  }

  id() {
    if (!this.conn) this.conn = bridge.connection(this.options, false);
    return this.conn;
  }

  /**
   * Registers the connection now and has the worker connect, ahead of the first socket; waits
   * until the worker has loaded gRPC and the contract and the connection is up or has failed
   * (bounded: 1 s at most for the connection).
   */
  warm() {
    if (!this.conn) this.conn = bridge.connection(this.options, true);
    bridge.ready(this.conn);
  }
}

/** The connection the environment names: DGRAMD_TARGET, DGRAMD_TOKEN, DGRAMD_TLS_CA/CERT/KEY. */
function fromEnvironment(env = process.env) {
  return new Connection({
    target: env.DGRAMD_TARGET,
    token: env.DGRAMD_TOKEN,
    tlsCa: env.DGRAMD_TLS_CA,
    tlsCert: env.DGRAMD_TLS_CERT,
    tlsKey: env.DGRAMD_TLS_KEY,
    tlsServerName: env.DGRAMD_TLS_SERVER_NAME,
  });
}

module.exports = { Connection, fromEnvironment };
