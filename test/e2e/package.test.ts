/**
 * The published package, as a new user gets it: `npm pack`, `npm install
 * <tarball>` into an empty project (dependencies from the npm registry), then
 * the README's two examples run from there, literally, against a virtsnapd
 * started from the installed package; TypeScript sees the client's types; and
 * `npm install -g` of the same tarball gives working `virtsnap`/`virtsnapd`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canConnect, repoRoot, tempDir } from '../helpers/daemon.js';
import { cliExample, libraryExample } from '../helpers/readme-examples.js';
import { readSvg } from '../helpers/svg.js';

const run = promisify(execFile);
const dir = tempDir('virtsnap-pkg-');
const proj = path.join(dir, 'project');
const socket = path.join(dir, 'sock');
const env = { ...process.env, VIRTSNAP_SOCKET: socket, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
let tarball = '';
let daemon: ChildProcess | undefined;
let daemonOut = '';

async function sh(command: string, cwd = proj): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('sh', ['-c', command], { cwd, env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command}: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}\nvirtsnapd: ${daemonOut}`);
  }
}

beforeAll(async () => {
  // The declarations only (nothing else reads .d.ts files, so this is safe while other suites run).
  await run(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.types.json'], { cwd: repoRoot });
  expect(existsSync(path.join(repoRoot, 'dist', 'daemon', 'main.js')), 'build first: npm run build').toBe(true);
  // --ignore-scripts: `prepare` would rebuild dist/ under the other suites' feet; the build is the same.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repoRoot, env });
  tarball = path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0].filename);
  await sh(`mkdir -p ${proj} && cd ${proj} && echo '{"name": "example", "private": true, "type": "module"}' > package.json`, dir);
  await sh(`npm install ${tarball}`);
}, 300_000);

afterAll(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds what is needed and nothing else: compiled code and types, openrpc.json, native sources, packaging', () => {
    const pkg = path.join(proj, 'node_modules', 'virtsnap');
    for (const f of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/daemon/main.js', 'dist/client/cli/main.js',
      'protocol/openrpc.json', 'daemon/native/peercred.c', 'daemon/native/binding.gyp', 'daemon/native/build.mjs',
      'packaging/virtsnapd.conf', 'packaging/systemd/virtsnapd.service', 'README.md']) {
      expect(existsSync(path.join(pkg, f)), f).toBe(true);
    }
    expect(readdirSync(pkg).sort()).toEqual(['README.md', 'clients', 'daemon', 'dist', 'package.json', 'packaging', 'protocol']);
    expect(readdirSync(path.join(pkg, 'dist')).sort()).toEqual(['client', 'daemon', 'drivers', 'protocol']);
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? all(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = all(path.join(pkg, 'dist'));
    expect(files.filter((f) => f.endsWith('.map') || /\.test\.|\/test\/|\/bench\//.test(f.replace(/drivers\/test\//, '')))).toEqual([]);
    expect(readdirSync(path.join(pkg, 'protocol'))).toEqual(['openrpc.json']);
  });

  it('virtsnapd starts from the installed package', async () => {
    daemon = spawn(path.join(proj, 'node_modules', '.bin', 'virtsnapd'), ['--socket', socket, '--state-dir', path.join(dir, 'state')], {
      cwd: proj, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    daemon.stdout!.on('data', (d) => (daemonOut += d));
    daemon.stderr!.on('data', (d) => (daemonOut += d));
    const deadline = Date.now() + 20_000;
    // Listening comes first, then the log line that says so.
    while (!(await canConnect(socket)) || !daemonOut.includes('stop it with')) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`virtsnapd did not start: ${daemonOut}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(daemonOut).toContain(`virtsnapd listening on ${socket}`);
  });

  it("runs the README's library example (import 'virtsnap/client')", async () => {
    const code = libraryExample();
    expect(code).toContain("from 'virtsnap/client'");
    writeFileSync(path.join(proj, 'example.mjs'), code);
    const { stdout } = await sh('node example.mjs');
    expect(stdout).toMatch(/^<domainsnapshot>\n {2}<name>\d+<\/name>/);
    expect(stdout).toContain('<state>running</state>');
    expect(stdout).toContain("72 VIR_ERR_NO_DOMAIN_SNAPSHOT Domain snapshot not found: no domain snapshot with matching name 'nope'\n");
    // It cleans up after itself: it can run again.
    await sh('node example.mjs');
    expect((await sh('node_modules/.bin/virtsnap snapshot-list test --name')).stdout.trim()).toBe('');
  });

  it("runs the README's CLI example, line by line, through npx (node_modules/.bin/virtsnap)", async () => {
    const lines = cliExample();
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const outs: string[] = [];
    for (const line of lines) {
      expect(line).toMatch(/^npx virtsnap /);
      outs.push((await sh(line)).stdout);
    }
    expect(outs[0]).toBe('Domain snapshot s1 created\n');
    expect(outs[1]).toBe('s1\n\n\n');
    expect(outs[2]).toBe('Domain snapshot s1 reverted\n\npaused\n\n');
    expect(JSON.parse(outs[3])).toEqual([expect.objectContaining({ name: 's1', parent: null, state: expect.stringMatching(/^(running|paused)$/) })]);
    expect(outs[4]).toMatch(/Job type: +None/);
    expect(outs[5]).toBe("Snapshot graph of domain 'test' (1 snapshot, svg) written to tree.svg\n");
    expect(readSvg(readFileSync(path.join(proj, 'tree.svg'), 'utf8')).boxes.map((b) => [b.name, b.current])).toEqual([['s1', true]]);
    expect(outs.at(-1)).toBe('Domain snapshot s1 deleted\n\n');
    // Both examples leave nothing behind: in any order, again.
    for (const line of lines) await sh(line);
  });

  it('gives TypeScript users the types of the client library', async () => {
    writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] },
      files: ['check.ts'],
    }));
    writeFileSync(path.join(proj, 'check.ts'), [
      "import * as v from 'virtsnap/client';",
      'export async function f(): Promise<void> {',
      "  const conn = await v.virConnectOpen('test:///default');",
      "  const dom = await v.virDomainLookupByName(conn, 'test');",
      '  const n: number = await v.virDomainSnapshotNum(dom, 0);',
      '  const wrong: string = await v.virDomainSnapshotNum(dom, 0);',
      '  const snaps: v.VirDomainSnapshot[] = await v.virDomainListAllSnapshots(dom, 0);',
      '  void n; void wrong; void snaps;',
      '}',
      '',
    ].join('\n'));
    const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');
    const r = await run(tsc, ['-p', '.'], { cwd: proj }).then(() => ({ stdout: '' }), (e: { stdout: string }) => e);
    // Exactly the one planted error: the types are real (not any) and everything else resolves.
    expect(r.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^check\.ts\(6,9\): error TS2322: Type 'number' is not assignable to type 'string'\.$/)]);
  });

  it('npm install -g of the tarball gives working virtsnap and virtsnapd commands', async () => {
    const prefix = path.join(dir, 'global');
    await sh(`npm install -g --prefix ${prefix} ${tarball}`);
    expect((await sh(`${prefix}/bin/virtsnap --version`, dir)).stdout).toBe(`${JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version}\n`);
    expect((await sh(`${prefix}/bin/virtsnapd --version`, dir)).stdout).toMatch(/^virtsnapd \d+\.\d+\.\d+\n$/);
    // The global CLI talks to the daemon too.
    expect((await sh(`${prefix}/bin/virtsnap domstate test`, dir)).stdout).toMatch(/^(running|paused)\n/);
  });
});
