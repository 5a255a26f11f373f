'use strict';
// Preload (node --require) that puts the package in node:dgram's place, for running programs
// written for node:dgram unchanged: require('dgram') / require('node:dgram') and
// import 'dgram' / 'node:dgram' give this package, and Node's own UDP binding is unreachable
// through process.binding. Used by run-node-tests.js; usable with any program:
//   DGRAMD_TARGET=127.0.0.1:50051 node --require dgramd/test/redirect.js app.js
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const pkg = path.join(__dirname, '..');
const dgramd = require(pkg);

const load = Module._load;
Module._load = function loadRedirected(request, parent, isMain) {
  if (request === 'dgram' || request === 'node:dgram') return dgramd;
  return load.call(this, request, parent, isMain);
};

const binding = process.binding;
process.binding = function bindingWithoutUdp(name) {
  if (name === 'udp_wrap') throw new Error('No such module: udp_wrap (node:dgram is served by dgramd)');
  return binding.call(this, name);
};

Module.register(pathToFileURL(path.join(__dirname, 'redirect-hooks.mjs')), pathToFileURL(__filename), {
  data: { url: pathToFileURL(path.join(pkg, 'index.mjs')).href },
});
