/**
 * Generates the Python client of virtsnapd from the OpenRPC document:
 *
 *   node dist/tools/gen-python-client.js [--input protocol/openrpc.json]
 *                                        [--out clients/python/virtsnap_client.py] [--check]
 *
 * The output is standard-library-only Python (3.8+): Content-Length framed JSON-RPC
 * 2.0 over AF_UNIX, ssh (driver+ssh:// URIs, through the `ssh` binary) or TLS, a `Connection` with one method per procedure named exactly as
 * the C API, type hints from the JSON Schemas, flag and error constants, and
 * libvirt-style exceptions. Deterministic: the same input always gives the same
 * bytes (document order, no timestamps), so a test can byte-compare it.
 *
 * Only protocol/openrpc.json is read; the few things the document does not carry
 * (the default socket path rule of protocol/paths.ts, the read-only socket suffix,
 * the transport's own error names) are written here, once.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PY_CONNECTION } from './python-client/python-connection.js';
import { PY_REMOTE } from './python-client/python-remote.js';
import { PY_ERROR_FROM_WIRE, PY_ERRORS_BASE, PY_PATHS } from './python-client/python-runtime.js';
import { renderMethod } from './python-client/render-method.js';
import { TypeMapper } from './python-client/type-mapper.js';
import {
  docText, errorClassName, GenError, isIdentifier, PY_KEYWORDS, pyLiteral, pyStr, RESERVED_METHODS, wrap, wrapComment,
  type OpenRpcDocument,
} from './python-client/pytext.js';

export type { JsonSchema, OpenRpcDocument, OpenRpcMethod, OpenRpcParam } from './python-client/pytext.js';
export { errorClassName };

export const DEFAULT_INPUT = path.join('protocol', 'openrpc.json');
export const DEFAULT_OUTPUT = path.join('clients', 'python', 'virtsnap_client.py');
const GENERATOR = 'tools/gen-python-client.ts';
const REGENERATE = 'node dist/tools/gen-python-client.js';

/** Error names the client raises by itself (connection failures); must exist in x-errors. */
const TRANSPORT_ERRORS = [
  'VIR_ERR_INTERNAL_ERROR', 'VIR_ERR_RPC', 'VIR_ERR_OPERATION_TIMEOUT',
  'VIR_ERR_INVALID_ARG', 'VIR_ERR_AUTH_FAILED', 'VIR_ERR_NO_CONNECT', 'VIR_ERR_SYSTEM_ERROR',
] as const;

// ---- the module --------------------------------------------------------------------

export interface GenerateOptions {
  /** The input as a repository-relative path, for the header. */
  inputLabel?: string;
}

/** The Python module for `inputText` (the exact bytes of openrpc.json, hashed into the header). */
export function generatePythonClient(inputText: string, opts: GenerateOptions = {}): string {
  const doc = JSON.parse(inputText) as OpenRpcDocument;
  const inputLabel = (opts.inputLabel ?? DEFAULT_INPUT).split(path.sep).join('/');
  const sha256 = createHash('sha256').update(inputText).digest('hex');
  if (!Array.isArray(doc.methods)) throw new GenError('the document has no methods');
  const xErrors = doc.components?.['x-errors'] ?? {};
  for (const e of TRANSPORT_ERRORS) {
    if (typeof xErrors[e] !== 'number') throw new GenError(`components.x-errors lacks ${e}, which the client raises itself`);
  }

  // Names the module defines itself, which no schema type may take.
  const reserved = new Set([
    'Connection', 'VirError', 'RpcError', 'ERROR_CLASSES', 'ERROR_NAMES', 'PROCEDURES', 'PROTOCOL_VERSION',
    ...Object.keys(xErrors).map(errorClassName), ...Object.keys(xErrors),
  ]);
  const types = new TypeMapper(reserved);

  // Flags: module-level constants, first appearance wins the position; a name
  // carrying two values is a broken document.
  const flagGroups: Array<{ methods: string[]; names: string[] }> = [];
  const flagValues = new Map<string, number>();
  for (const m of doc.methods) {
    const flags = m['x-flags'];
    if (!flags) continue;
    const fresh: string[] = [];
    for (const [fname, value] of Object.entries(flags)) {
      if (!isIdentifier(fname)) throw new GenError(`flag '${fname}' is not a Python identifier`);
      const seen = flagValues.get(fname);
      if (seen === undefined) {
        flagValues.set(fname, value);
        fresh.push(fname);
      } else if (seen !== value) {
        throw new GenError(`flag ${fname} is ${seen} in one method and ${value} in ${m.name}`);
      }
    }
    const key = Object.keys(flags).join(',');
    const group = flagGroups.find((g) => g.names.join(',') === key);
    if (group) group.methods.push(m.name);
    else if (fresh.length) flagGroups.push({ methods: [m.name], names: fresh });
  }
  for (const f of flagValues.keys()) if (reserved.has(f)) throw new GenError(`flag ${f} collides with a generated name`);

  const methodNames = new Set<string>();
  const methods = doc.methods.map((m) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name) || PY_KEYWORDS.has(m.name)) {
      throw new GenError(`method '${m.name}' is not a Python identifier`);
    }
    if (RESERVED_METHODS.has(m.name) || m.name.startsWith('_')) throw new GenError(`method '${m.name}' collides with Connection's own members`);
    if (methodNames.has(m.name)) throw new GenError(`method '${m.name}' appears twice`);
    methodNames.add(m.name);
    if (m.paramStructure && m.paramStructure !== 'by-name') throw new GenError(`${m.name}: only by-name params are supported`);
    return renderMethod(m, types);
  });

  const out: string[] = [];
  const emit = (...lines: string[]) => out.push(...lines);

  emit(
    '# -*- coding: utf-8 -*-',
    `# virtsnap_client.py: Python client of ${doc.info.title} (protocol ${doc.info.version}).`,
    '#',
    '# DO NOT EDIT: this file is generated.',
    `#   generator: ${GENERATOR}`,
    `#   input:     ${inputLabel} (sha256 ${sha256})`,
    `#   regenerate: npx tsc -p . && ${REGENERATE}`,
    '# A test fails when this file differs from what the generator makes of the input.',
    `"""Python client of ${docText(doc.info.title)}, generated from ${inputLabel}.`,
    '',
    ...wrap(doc.info.description ?? '', 76),
    '',
    'Standard library only. Usage::',
    '',
    '    from virtsnap_client import Connection, VirNoDomainSnapshotError',
    '',
    '    with Connection() as conn:            # $VIRTSNAP_SOCKET or the default path',
    "        snap = conn.virDomainSnapshotCreateXML('test', '<domainsnapshot/>')",
    "        conn.virDomainRevertToSnapshot(snap['domain'], snap['name'])",
    '',
    "    # a remote host, through OpenSSH and virtsnap-ssh-helper there:",
    "    conn = Connection(uri='test+ssh://root@host/default?keyfile=/root/.ssh/id_ed25519')",
    '',
    'Every procedure is a method of `Connection` named as the libvirt C function;',
    'handles (virDomainPtr, virDomainSnapshotPtr) are plain dicts (DomainHandle,',
    'SnapshotHandle) and the methods take the domain and snapshot by name.',
    'A libvirt error raises `VirError` (or its subclass for the error name);',
    'a JSON-RPC protocol error (reserved codes -32768..-32000) raises `RpcError`.',
    '"""',
    '',
  );

  const stdTyping = ['Any', 'Callable', 'Dict', 'List', 'Mapping', 'Optional', 'Type', 'Union', 'cast'];
  const typingNames = [...new Set([...stdTyping, ...types.imports])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  emit(
    'import json',
    'import os',
    'import select',
    'import shlex',
    'import socket',
    'import ssl',
    'import subprocess',
    'import threading',
    'import urllib.parse',
    `from typing import ${typingNames.join(', ')}`,
    '',
    `PROTOCOL_VERSION = ${pyStr(doc.info.version)}`,
    '',
    '',
  );

  // Types.
  emit('# ---- result types: the handles and other JSON objects ' + '-'.repeat(22), '', '');
  for (const t of types.typedDicts) {
    const users = types.usedBy.get(t.name) ?? [];
    emit(...wrapComment(`Returned by ${users.join(', ')}.`), t.code, '', '');
  }

  // Flags.
  emit('# ---- flags (x-flags), OR them into `flags` ' + '-'.repeat(32), '');
  for (const g of flagGroups) {
    emit('', ...wrapComment(`Flags of ${g.methods.join(', ')}.`));
    for (const f of g.names) emit(`${f} = ${flagValues.get(f)}`);
  }
  emit('', '');

  // Credential types, for Connection(auth=...) / openAuth callbacks.
  const credTypes = Object.entries(doc.components?.['x-credential-types'] ?? {});
  emit('# ---- credential types (components.x-credential-types), for auth callbacks ' + '-'.repeat(3), '');
  for (const [name, value] of credTypes) {
    if (!isIdentifier(name) || flagValues.has(name) || reserved.has(name)) throw new GenError(`credential type '${name}' is not a free Python identifier`);
    emit(`${name} = ${value}`);
  }
  emit('', '');

  // Errors.
  const errorEntries = Object.entries(xErrors).sort(([an, a], [bn, b]) => a - b || (an < bn ? -1 : an > bn ? 1 : 0));
  emit('# ---- errors (components.x-errors: libvirt virErrorNumber) ' + '-'.repeat(18), '');
  for (const [name, code] of errorEntries) emit(`${name} = ${code}`);
  emit(
    '',
    '#: virErrorNumber → libvirt error name.',
    'ERROR_NAMES: Dict[int, str] = {',
    ...errorEntries.map(([name]) => `    ${name}: ${pyStr(name)},`),
    '}',
    '',
    '',
    PY_ERRORS_BASE,
    '',
  );
  const classes: Array<[string, string]> = [];
  for (const [name, code] of errorEntries) {
    if (code === 0) continue; // VIR_ERR_OK is not an error
    const cls = errorClassName(name);
    if (classes.some(([c]) => c === cls)) throw new GenError(`two error names map to the class ${cls}`);
    classes.push([cls, name]);
    emit('', `class ${cls}(VirError):`, `    """${name} (${code})."""`, '', `    CODE = ${name}`, `    NAME = ${pyStr(name)}`, '');
  }
  emit(
    '',
    '#: libvirt error name → the VirError subclass raised for it.',
    'ERROR_CLASSES: Dict[str, Type[VirError]] = {',
    ...classes.map(([cls, name]) => `    ${pyStr(name)}: ${cls},`),
    '}',
    '',
    '',
    PY_ERROR_FROM_WIRE,
    '',
    '',
    PY_PATHS,
    '',
    '',
    PY_REMOTE,
    '',
    '',
  );

  // Procedure metadata.
  emit(
    '#: Every procedure of the protocol: its stable id, access, scope, whether it runs',
    '#: as a domain job, and its parameter names in positional order.',
    'PROCEDURES: Dict[str, Dict[str, Any]] = {',
    ...doc.methods.map(
      (m) =>
        `    ${pyStr(m.name)}: {"id": ${pyLiteral(m['x-id'] ?? null)}, "access": ${pyLiteral(m['x-access'] ?? null)}, ` +
        `"scope": ${pyLiteral(m['x-scope'] ?? null)}, "job": ${pyLiteral(m['x-job'] ?? null)}, ` +
        `"params": [${m.params.map((p) => pyStr(p.name)).join(', ')}]},`,
    ),
    '}',
    '',
    '',
    PY_CONNECTION,
  );
  for (const m of methods) emit('', m);

  const allNames = [
    'PROTOCOL_VERSION', 'Connection', 'VirError', 'RpcError', 'ERROR_NAMES', 'ERROR_CLASSES', 'PROCEDURES',
    'error_from_wire', 'default_socket_path', 'read_only_socket_path', 'parse_remote_uri', 'ssh_argv', 'ssh_error',
    'client_pki_files', 'tls_socket', 'DEFAULT_TLS_PORT', 'openAuth',
    ...types.typedDicts.map((t) => t.name),
    ...classes.map(([c]) => c),
    ...errorEntries.map(([n]) => n),
    ...flagValues.keys(),
    ...credTypes.map(([n]) => n),
  ];
  emit('', '', '__all__ = [', ...allNames.map((n) => `    ${pyStr(n)},`), ']');
  return out.join('\n') + '\n';
}

// ---- command line --------------------------------------------------------------------

/** The repository root: the nearest ancestor of this file holding protocol/openrpc.json. */
export function findRepoRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, DEFAULT_INPUT))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new GenError(`no ${DEFAULT_INPUT} above ${from}`);
    dir = up;
  }
}

/** Generate (or with --check, verify); returns the exit status. */
export function main(argv: string[], log: (s: string) => void = (s) => process.stderr.write(s + '\n')): number {
  let input: string | undefined;
  let output: string | undefined;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input' || a === '--out') {
      const v = argv[++i];
      if (!v) {
        log(`${a} needs a path`);
        return 2;
      }
      if (a === '--input') input = v;
      else output = v;
    } else if (a === '--check') {
      check = true;
    } else if (a === '--help' || a === '-h') {
      log(`usage: ${REGENERATE} [--input ${DEFAULT_INPUT}] [--out ${DEFAULT_OUTPUT}] [--check]`);
      return 0;
    } else {
      log(`unknown argument '${a}'`);
      return 2;
    }
  }
  const root = findRepoRoot();
  const inputPath = path.resolve(root, input ?? DEFAULT_INPUT);
  const outputPath = path.resolve(root, output ?? DEFAULT_OUTPUT);
  let text: string;
  try {
    text = generatePythonClient(readFileSync(inputPath, 'utf8'), {
      inputLabel: input ?? DEFAULT_INPUT,
    });
  } catch (e) {
    log(`${inputPath}: ${(e as Error).message}`);
    return 1;
  }
  if (check) {
    const current = existsSync(outputPath) ? readFileSync(outputPath, 'utf8') : undefined;
    if (current === text) return 0;
    log(`${outputPath} is stale: run ${REGENERATE}`);
    return 1;
  }
  mkdirSync(path.dirname(outputPath), { recursive: true });
  writeFileSync(outputPath, text);
  log(`wrote ${path.relative(process.cwd(), outputPath) || outputPath}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
