/**
 * The generated Python client (clients/python/virtsnap_client.py):
 *  - it is what tools/gen-python-client.ts makes of protocol/openrpc.json today
 *    (byte compare: CI fails when someone changes the protocol and forgets to
 *    regenerate);
 *  - python3 runs it against a real virtsnapd: create, list (and page), revert,
 *    delete, libvirt errors as VirError subclasses, JSON-RPC errors as RpcError;
 *  - every procedure's Python signature matches the document (inspect.signature);
 *  - its default socket path follows protocol/paths.ts;
 *  - mypy --strict, when the interpreter has mypy.
 * Set VIRTSNAP_TEST_PYTHON to use another interpreter than python3.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultSocketPath } from '../../protocol/paths.js';
import { DEFAULT_OUTPUT, generatePythonClient, main } from '../../tools/gen-python-client.js';
import { repoRoot, startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';

const run = promisify(execFile);
const python = process.env.VIRTSNAP_TEST_PYTHON ?? 'python3';
const committed = path.join(repoRoot, DEFAULT_OUTPUT);
const openrpcPath = path.join(repoRoot, 'protocol', 'openrpc.json');
const checker = path.join(repoRoot, 'test', 'clients', 'python_client_check.py');
const hasMypy = spawnSync(python, ['-m', 'mypy', '--version'], { stdio: 'ignore' }).status === 0;

async function py(args: string[], env: NodeJS.ProcessEnv = {}): Promise<any> {
  try {
    const { stdout } = await run(python, [checker, ...args], {
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout);
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${python} ${path.basename(checker)} ${args[0]} failed: ${err.message}\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

describe('the committed Python client is generated from protocol/openrpc.json', () => {
  it('is up to date (regenerate: npx tsc -p . && node dist/tools/gen-python-client.js)', () => {
    const out = path.join(tempDir('virtsnap-pygen-'), 'virtsnap_client.py');
    expect(main(['--out', out], () => undefined)).toBe(0);
    const fresh = readFileSync(out);
    const onDisk = readFileSync(committed);
    expect(
      fresh.equals(onDisk),
      `${DEFAULT_OUTPUT} is stale: run 'npx tsc -p . && node dist/tools/gen-python-client.js' and commit it`,
    ).toBe(true);
    expect(main(['--check'], () => undefined)).toBe(0);
  });

  it('is deterministic and says where it comes from', () => {
    const input = readFileSync(openrpcPath, 'utf8');
    const a = generatePythonClient(input);
    expect(generatePythonClient(input)).toBe(a);
    const head = a.split('\n').slice(0, 8).join('\n');
    expect(head).toContain('DO NOT EDIT');
    expect(head).toContain('tools/gen-python-client.ts');
    expect(head).toContain('protocol/openrpc.json');
    expect(head).toContain('node dist/tools/gen-python-client.js');
    expect(a).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/); // no timestamps
    expect(a).toMatch(/^import (json|os|socket|threading)$/m);
    // standard library only (ssh URIs run the ssh binary through subprocess)
    // standard library only
    const imports = [...a.matchAll(/^(?:from (\S+) import|import (\S+))/gm)].map((m) => m[1] ?? m[2]);
    expect(new Set(imports)).toEqual(new Set(['json', 'os', 'select', 'shlex', 'socket', 'ssl', 'subprocess', 'threading', 'typing', 'urllib.parse']));
  });

  it('--check reports a stale file', () => {
    const out = path.join(tempDir('virtsnap-pygen-'), 'stale.py');
    writeFileSync(out, '# old\n');
    expect(main(['--out', out, '--check'], () => undefined)).toBe(1);
  });

  it('refuses a document it cannot render faithfully', () => {
    const doc = JSON.parse(readFileSync(openrpcPath, 'utf8'));
    doc.methods[0]['x-flags'] = { VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: 3 };
    expect(() => generatePythonClient(JSON.stringify(doc))).toThrow(/VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE/);
  });

  it('renders keywords and required-after-optional parameters as valid Python', async () => {
    const doc = JSON.parse(readFileSync(openrpcPath, 'utf8'));
    doc.methods = [{
      name: 'virExample',
      summary: 'A synthetic method.',
      paramStructure: 'by-name',
      params: [
        { name: 'from', required: false, schema: { type: 'string' } },
        { name: 'count', required: true, schema: { type: 'integer' } },
      ],
      result: { name: 'result', schema: { type: 'object', properties: { 'odd-key': { type: 'string' } }, required: ['odd-key'] } },
    }];
    const dir = tempDir('virtsnap-pygen-');
    const file = path.join(dir, 'example_client.py');
    writeFileSync(file, generatePythonClient(JSON.stringify(doc)));
    const { stdout } = await run(python, ['-c', [
      'import importlib.util, inspect, sys',
      `spec = importlib.util.spec_from_file_location("example_client", ${JSON.stringify(file)})`,
      'mod = importlib.util.module_from_spec(spec); sys.modules["example_client"] = mod; spec.loader.exec_module(mod)',
      'print(inspect.signature(mod.Connection.virExample))',
      'print(sorted(mod.VirExampleResult.__annotations__))',
      'print("params[\\"from\\"] = from_" in inspect.getsource(mod.Connection.virExample))',
    ].join('\n')]);
    expect(stdout.trim().split('\n')).toEqual([
      '(self, from_: Optional[str] = None, *, count: int) -> example_client.VirExampleResult',
      "['odd-key']",
      'True',
    ]);
  });
});

describe('python3 runs the generated client', () => {
  let d: RunningDaemon;

  beforeAll(async () => {
    d = await startDaemon();
  });

  afterAll(async () => {
    await d?.stop();
    await d?.cleanup();
  });

  it('every procedure is a method with the C name, the document\'s params in order, defaults and type hints', async () => {
    const doc = JSON.parse(readFileSync(openrpcPath, 'utf8')) as { methods: unknown[] };
    const r = await py(['signatures', committed, openrpcPath]);
    expect(r.problems).toEqual([]);
    expect(r.methods).toBe(doc.methods.length);
    expect(r.handles).toEqual({ SnapshotHandle: ['domain', 'name'], DomainHandle: ['id', 'name', 'uuid'] });
    expect(r.rpcErrorIsVirError).toBe(false);
  });

  it('create, list, page, revert, delete, and libvirt errors against a real daemon', async () => {
    const r = await py(['scenario', committed], { VIRTSNAP_SOCKET: d.socket }).catch((e: Error) => {
      throw new Error(`${e.message}\nvirtsnapd (exit ${d.proc.exitCode}): ${d.output()}`);
    });
    expect(r.open).toEqual({ uri: 'test:///default' });
    expect(r.domain).toEqual({ name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 });
    expect(r.initialNum).toBe(0);

    // create
    expect(r.created).toEqual([
      { domain: 'test', name: 's1' },
      { domain: 'test', name: 's2' },
      { domain: 'test', name: 's3' },
    ]);
    expect(r.stateAfterDestroy).toBe(5); // VIR_DOMAIN_SHUTOFF

    // list
    expect(r.listAll).toEqual(['s1', 's2', 's3']);
    expect(r.listNames).toEqual(['s1', 's2', 's3']);
    expect(r.num).toBe(3);
    expect(r.roots).toEqual(['s1']);
    expect(r.pages.map((p: string[]) => p.length)).toEqual([2, 1]);
    expect(r.pages.flat().sort()).toEqual(['s1', 's2', 's3']);
    expect(r.parentOfS2).toEqual({ domain: 'test', name: 's1' });

    // revert
    expect(r.currentBeforeRevert).toBe('s3');
    expect(r.revert).toBe(0);
    expect(r.stateAfterRevert.state).toBe(1); // VIR_DOMAIN_RUNNING
    expect(r.currentAfterRevert).toBe('s1');
    expect(r.isCurrent).toBe(1);

    // delete (s2 with its child s3)
    expect(r.delete).toBe(0);
    expect(r.afterDelete).toEqual(['s1']);

    // the error case: libvirt's number, name and text, as the subclass of VirError
    expect(r.noSnapshot).toMatchObject({
      class: 'VirNoDomainSnapshotError',
      isVirError: true,
      isRpcError: false,
      code: 72,
      name: 'VIR_ERR_NO_DOMAIN_SNAPSHOT',
    });
    expect(r.noSnapshot.message).toMatch(/^Domain snapshot not found: /);
    expect(r.noSnapshot.str).toBe(r.noSnapshot.message);
    expect(r.noSnapshot.domain).toMatch(/^VIR_FROM_/);
    expect(r.noDomain).toMatchObject({ class: 'VirNoDomainError', code: 42, name: 'VIR_ERR_NO_DOMAIN' });
    expect(r.noDomain.message).toMatch(/^Domain not found: /);

    // JSON-RPC reserved codes are RpcError, not VirError; the connection survives them
    expect(r.invalidParams).toMatchObject({ class: 'RpcError', isVirError: false, isRpcError: true, code: -32602 });
    expect(r.invalidParams.message).toMatch(/maxnames/);
    expect(r.unknownMethod).toMatchObject({ class: 'RpcError', code: -32601 });
    expect(r.stillUsable).toBe(1);

    // the read-only socket, a closed connection, no daemon
    expect(r.readonlyRead).toEqual(['s1']);
    expect(r.readonlyWrite).toMatchObject({ class: 'VirOperationDeniedError', code: 29, name: 'VIR_ERR_OPERATION_DENIED' });
    expect(r.closed).toMatchObject({ class: 'VirRpcError', code: 39 });
    expect(r.noDaemon).toMatchObject({ class: 'VirInternalError', code: 1, name: 'VIR_ERR_INTERNAL_ERROR', domain: 'VIR_FROM_RPC' });
    expect(r.noDaemon.message).toMatch(/^Failed to connect socket to '.*\.absent': No such file or directory$/);
  });

  it('finds the daemon where protocol/paths.ts says, for root and for a user', async () => {
    const envs: NodeJS.ProcessEnv[] = [
      {},
      { XDG_RUNTIME_DIR: '/run/user/1000' },
      { XDG_RUNTIME_DIR: '/run/user/1000/' },
      { HOME: '/home/u' },
      { HOME: '/home/u/', XDG_CACHE_HOME: '/c/' },
      { XDG_RUNTIME_DIR: '', HOME: '/scratch' },
    ];
    for (const uid of [0, 1000]) {
      const getuid = vi.spyOn(process, 'getuid').mockReturnValue(uid);
      const userInfo = vi.spyOn(os, 'userInfo').mockReturnValue({ ...os.userInfo(), uid });
      const expected: string[] = [];
      try {
        for (const env of envs) {
          // paths.ts reads the temp dir from the process environment (os.tmpdir()).
          for (const k of ['TMPDIR', 'TMP', 'TEMP']) vi.stubEnv(k, env[k] ?? '');
          expected.push(defaultSocketPath(env));
        }
      } finally {
        vi.unstubAllEnvs();
        getuid.mockRestore();
        userInfo.mockRestore();
      }
      const r = await py(['paths', committed, String(uid), JSON.stringify(envs)]);
      expect(r.paths).toEqual(expected);
    }
  });

  it.runIf(hasMypy)('passes mypy --strict', async () => {
    await run(python, ['-m', 'mypy', '--strict', '--no-error-summary', committed], { timeout: 120_000 });
  }, 130_000);
});
