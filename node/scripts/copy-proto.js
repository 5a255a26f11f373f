'use strict';
// prepack: copies the contract (dgramd.proto, from the repository's proto module) into the package,
// where lib/contract.js looks first, so that a published package carries it; postpack (--remove)
// deletes the copy again. The repository keeps one .proto: this copy is never committed.
const fs = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', '..', 'proto', 'src', 'main', 'proto', 'dgramd', 'v1', 'dgramd.proto');
const copy = path.join(__dirname, '..', 'proto');

if (process.argv.includes('--remove')) {
  fs.rmSync(copy, { recursive: true, force: true });
} else {
  fs.mkdirSync(path.join(copy, 'dgramd', 'v1'), { recursive: true });
  fs.copyFileSync(source, path.join(copy, 'dgramd', 'v1', 'dgramd.proto'));
}
