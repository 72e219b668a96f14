#!/usr/bin/env node
/**
 * Builds daemon/native/peercred.node from source with node-gyp, at `npm install`
 * / `npm ci` time (the package's `install` script). Offline by design: it uses
 * the node-gyp that ships with npm and the Node headers already on the machine
 * (--nodedir), so node-gyp never downloads a header tarball.
 *
 * Never fails the install: without a compiler the daemon still runs, it just
 * cannot read SO_PEERCRED (peer uid/gid/pid are logged as unknown and the
 * --allow-uid/--allow-gid options refuse to start).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const warn = (msg) => process.stderr.write(`virtsnap: ${msg}\n`);

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not a dependency: use npm's own copy */ }
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((c) => c && existsSync(c));
}

function findNodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && existsSync(path.join(fromEnv, 'include', 'node', 'node_api.h'))) return fromEnv;
  for (const dir of [path.resolve(path.dirname(process.execPath), '..'), '/usr', '/usr/local']) {
    if (existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

const gyp = findNodeGyp();
const nodedir = findNodeDir();
if (!gyp || !nodedir) {
  warn(`peer-credential addon not built (${!gyp ? 'node-gyp not found' : 'Node headers not found'}); virtsnapd will run without SO_PEERCRED`);
  process.exit(0);
}
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], { cwd: here, stdio: 'inherit' });
if (r.status !== 0) {
  warn('peer-credential addon failed to build; virtsnapd will run without SO_PEERCRED');
  process.exit(0);
}
