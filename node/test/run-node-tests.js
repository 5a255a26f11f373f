#!/usr/bin/env node
'use strict';
// Runs Node's own dgram tests against this package: every test/parallel/test-dgram-*.{js,mjs} and
// test/sequential/test-dgram-*.js of a Node source tree, unmodified, with Node's test/common, each
// in its own process preloaded with redirect.js (node:dgram -> this package, Node's UDP binding
// unreachable), against a dgramd daemon this script starts on loopback (or the one --target names).
//
//   node test/run-node-tests.js NODE_SRC [--jar daemon/target/dgramd.jar] [--target HOST:PORT]
//                               [--all] [--timeout SECONDS] [FILTER...]
//
// NODE_SRC is the root of a Node source tree (the folder holding test/), e.g. from
// `apt-get source nodejs`. Files that depend on Node internals are listed as "out of reach" with
// the reason and not run, unless --all. Prints one line per file and a summary; exits 1 if any
// file that is run fails.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO = path.join(__dirname, '..', '..');

/** Why a test file cannot pass against a daemon-hosted socket, or undefined. */
function outOfReach(source) {
  if (/--expose-internals|internalBinding\(/.test(source)) return 'uses Node internals (--expose-internals, internalBinding)';
  if (/require\(['"]cluster['"]\)|common\.isWorker|cluster\.isPrimary|cluster\.isMaster/.test(source)) {
    return 'cluster handle sharing (a cluster worker binds through the primary\'s handles)';
  }
  if (/\bfd\b\s*:|_createSocketHandle|\.fd\b/.test(source)) return 'file descriptors / handles of the process';
  return undefined;
}

function parseArgs(argv) {
  const args = { root: null, jar: path.join(REPO, 'daemon', 'target', 'dgramd.jar'), target: null, all: false, timeout: 60, filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--jar') args.jar = argv[++i];
    else if (a === '--target') args.target = argv[++i];
    else if (a === '--all') args.all = true;
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (!args.root) args.root = a;
    else args.filters.push(a);
  }
  if (!args.root) {
    console.error('usage: run-node-tests.js NODE_SRC [--jar JAR] [--target HOST:PORT] [--all] [--timeout S] [FILTER...]');
    process.exit(2);
  }
  return args;
}

/** Starts the daemon on a free loopback port; resolves {target, stop}. */
function startDaemon(jar) {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-jar', jar, '--listen', '127.0.0.1:0', '--orphan-grace', '1s',
      '--policy', path.join(__dirname, 'node-tests-policy.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => fail(new Error(`dgramd did not start within 60 s:\n${log}`)), 60000);
    const fail = (err) => { clearTimeout(timer); child.kill(); reject(err); };
    const onData = (chunk) => {
      log += chunk;
      const m = /dgramd listening on (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ target: m[1], stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`dgramd exited (${code}):\n${log}`)));
  });
}

/** Node's test runner reads "// Flags:" from a test's head and passes them to node. */
function flagsOf(source) {
  const m = /^\/\/ Flags: (.*)$/m.exec(source);
  return m ? m[1].trim().split(/\s+/) : [];
}

/**
 * Warms a fresh daemon up (its JIT) with a few hundred socket cycles through the package, so that
 * the first test files do not pay for it: some of Node's tests bound how long a bind may take.
 */
function warmUp(target) {
  const script = `
    const dgram = require(${JSON.stringify(path.join(__dirname, '..'))});
    let left = 300;
    const cycle = () => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => s.send('warm', s.address().port, '127.0.0.1', () => s.close(() => {
        if (--left > 0) cycle();
      })));
    };
    for (let i = 0; i < 4; i++) cycle();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, DGRAMD_TARGET: target }, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', () => { clearTimeout(timer); resolve(); });
  });
}

function runOne(file, target, timeoutS) {
  return new Promise((resolve) => {
    const source = fs.readFileSync(file, 'utf8');
    const args = ['--require', path.join(__dirname, 'redirect.js'), ...flagsOf(source), file];
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: path.dirname(file),
      env: { ...process.env, DGRAMD_TARGET: target, NODE_TEST_DIR: path.dirname(path.dirname(file)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    const timer = setTimeout(() => { output += `\n(killed after ${timeoutS} s)`; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, signal, output, ms: Date.now() - started });
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const testDir = path.join(args.root, 'test');
  const files = [];
  for (const dir of ['parallel', 'sequential']) {
    const full = path.join(testDir, dir);
    if (!fs.existsSync(full)) continue;
    for (const name of fs.readdirSync(full).sort()) {
      if (/^test-dgram-.*\.m?js$/.test(name)) files.push(path.join(full, name));
    }
  }
  const selected = files.filter((f) => args.filters.length === 0 || args.filters.some((x) => f.includes(x)));
  const daemon = args.target ? { target: args.target, stop: async () => {} } : await startDaemon(args.jar);
  if (!args.target) await warmUp(daemon.target);
  console.log(`dgramd at ${daemon.target}; ${selected.length} files`);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  try {
    for (const file of selected) {
      const name = path.relative(testDir, file);
      const reason = outOfReach(fs.readFileSync(file, 'utf8'));
      if (reason && !args.all) {
        skipped++;
        console.log(`SKIP ${name}: ${reason}`);
        continue;
      }
      const r = await runOne(file, daemon.target, args.timeout);
      if (r.ok) {
        passed++;
        console.log(`PASS ${name} (${r.ms} ms)`);
      } else {
        failed++;
        failures.push(name);
        console.log(`FAIL ${name} (exit ${r.code ?? r.signal}, ${r.ms} ms)\n${r.output.trim().split('\n').map((l) => `    ${l}`).join('\n')}`);
      }
    }
  } finally {
    await daemon.stop();
  }
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} out of reach${failures.length ? `\nfailed: ${failures.join(' ')}` : ''}`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 2;
});
