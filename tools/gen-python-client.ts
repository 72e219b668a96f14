/**
 * Generates the Python client of virtsnapd from the OpenRPC document:
 *
 *   node dist/tools/gen-python-client.js [--input protocol/openrpc.json]
 *                                        [--out clients/python/virtsnap_client.py] [--check]
 *
 * The output is standard-library-only Python (3.8+): Content-Length framed JSON-RPC
 * 2.0 over AF_UNIX, a `Connection` with one method per procedure named exactly as
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

// ---- the part of OpenRPC + JSON Schema this generator understands --------------

export interface JsonSchema {
  $id?: string;
  type?: string | string[];
  description?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

export interface OpenRpcParam {
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenRpcMethod {
  name: string;
  summary?: string;
  paramStructure?: string;
  params: OpenRpcParam[];
  result?: { name: string; schema: JsonSchema };
  errors?: Array<{ code: number; message: string }>;
  'x-id'?: number;
  'x-access'?: string;
  'x-job'?: boolean;
  'x-scope'?: string;
  'x-flags'?: Record<string, number>;
  'x-secure-flag'?: number;
}

export interface OpenRpcDocument {
  openrpc: string;
  info: { title: string; version: string; description?: string };
  methods: OpenRpcMethod[];
  components?: { 'x-errors'?: Record<string, number> };
}

export const DEFAULT_INPUT = path.join('protocol', 'openrpc.json');
export const DEFAULT_OUTPUT = path.join('clients', 'python', 'virtsnap_client.py');
const GENERATOR = 'tools/gen-python-client.ts';
const REGENERATE = 'node dist/tools/gen-python-client.js';

/** Error names the client raises by itself (connection failures); must exist in x-errors. */
const TRANSPORT_ERRORS = ['VIR_ERR_INTERNAL_ERROR', 'VIR_ERR_RPC', 'VIR_ERR_OPERATION_TIMEOUT'] as const;

const PY_KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del',
  'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal',
  'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
/** Names of the generated module and of Connection that a procedure or parameter must not shadow. */
const RESERVED_METHODS = new Set(['call', 'close', 'path', 'notification_handler']);

class GenError extends Error {}

/** Docstrings for the document's object types that carry no description of their own. */
const KNOWN_OBJECT_DOCS: Record<string, string> = {
  DomainHandle:
    "A domain, as C's virDomainPtr: pass its name (or uuid) wherever a method takes `domain`; id is -1 while shut off.",
  SnapshotHandle:
    "A snapshot, as C's virDomainSnapshotPtr: pass h['domain'] and h['name'] as `domain` and `snapshot`.",
  DomainStateInfo: "virDomainGetState's answer: the virDomainState and its reason.",
};

function isIdentifier(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !PY_KEYWORDS.has(s);
}

/** A Python identifier for a wire name: `from` → `from_`. */
function pyIdent(name: string): string {
  if (isIdentifier(name)) return name;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `${name}_`;
  throw new GenError(`'${name}' cannot be turned into a Python identifier`);
}

/** A Python literal for a JSON scalar; undefined for anything else. */
function pyLiteral(v: unknown): string | undefined {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return pyStr(v);
  return undefined;
}

/** A JSON string literal is a valid Python string literal (\", \\, \n, \uXXXX). */
function pyStr(s: string): string {
  return JSON.stringify(s);
}

/** Text inside a """docstring""". */
function docText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"');
}

/** `VIR_ERR_NO_DOMAIN_SNAPSHOT` → `VirNoDomainSnapshotError`, `VIR_ERR_XML_ERROR` → `VirXmlError`. */
export function errorClassName(errName: string): string {
  const words = errName.replace(/^VIR_ERR_/, '').split('_').filter(Boolean);
  const camel = words.map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join('');
  return `Vir${camel}${camel.endsWith('Error') ? '' : 'Error'}`;
}

function upperFirst(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

// ---- JSON Schema → Python type hints ---------------------------------------------

interface TypedDictDef {
  name: string;
  /** canonical JSON of the schema, to detect two different schemas with one $id */
  key: string;
  code: string;
}

class TypeMapper {
  readonly typedDicts: TypedDictDef[] = [];
  /** TypedDict name → methods returning it (for the class docstring). */
  readonly usedBy = new Map<string, string[]>();
  readonly imports = new Set<string>();

  constructor(private readonly reserved: Set<string>) {}

  /** The Python type of `schema`; `hint` names an object type without $id. */
  type(schema: JsonSchema, hint: string, method: string): string {
    if (schema.const !== undefined) {
      const lit = pyLiteral(schema.const);
      if (lit === undefined) return this.use('Any');
      return `${this.use('Literal')}[${lit}]`;
    }
    if (schema.enum) {
      const lits = schema.enum.map(pyLiteral);
      if (lits.some((l) => l === undefined)) return this.use('Any');
      return `${this.use('Literal')}[${lits.join(', ')}]`;
    }
    const union = schema.anyOf ?? schema.oneOf;
    if (union) return this.union(union.map((s, i) => this.type(s, `${hint}${i}`, method)));
    if (Array.isArray(schema.type)) {
      return this.union(schema.type.map((t) => this.type({ ...schema, type: t }, hint, method)));
    }
    switch (schema.type) {
      case 'string': return 'str';
      case 'integer': return 'int';
      case 'number': return 'float';
      case 'boolean': return 'bool';
      case 'null': return 'None';
      case 'array': return `${this.use('List')}[${schema.items ? this.type(schema.items, `${hint}Item`, method) : this.use('Any')}]`;
      case 'object': return this.object(schema, hint, method);
      default: return this.use('Any');
    }
  }

  private use(name: string): string {
    this.imports.add(name);
    return name;
  }

  private union(members: string[]): string {
    const unique = [...new Set(members)];
    if (unique.every((m) => m.startsWith('Literal['))) {
      const lits = [...new Set(unique.flatMap((m) => m.slice('Literal['.length, -1).split(', ')))];
      return `${this.use('Literal')}[${lits.join(', ')}]`;
    }
    const nonNull = unique.filter((m) => m !== 'None');
    const inner = nonNull.length === 1 ? nonNull[0]! : `${this.use('Union')}[${nonNull.join(', ')}]`;
    return nonNull.length < unique.length ? `${this.use('Optional')}[${inner}]` : inner;
  }

  private object(schema: JsonSchema, hint: string, method: string): string {
    const props = schema.properties;
    if (!props || Object.keys(props).length === 0) {
      const ap = schema.additionalProperties;
      const value = ap && typeof ap === 'object' ? this.type(ap, `${hint}Value`, method) : this.use('Any');
      return `${this.use('Dict')}[str, ${value}]`;
    }
    const name = schema.$id ?? hint;
    if (!isIdentifier(name)) throw new GenError(`object type name '${name}' is not a Python identifier`);
    if (this.reserved.has(name)) throw new GenError(`object type name '${name}' collides with a generated name`);
    const key = JSON.stringify(schema);
    const users = this.usedBy.get(name) ?? [];
    if (!users.includes(method)) users.push(method);
    this.usedBy.set(name, users);
    const known = this.typedDicts.find((t) => t.name === name);
    if (known) {
      if (known.key !== key) throw new GenError(`two different object schemas are both named '${name}'`);
      return name;
    }
    // Fields first, so that nested TypedDicts are defined before this one.
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(props).map(([prop, s]) => ({
      prop,
      type: this.type(s, `${name}${upperFirst(prop)}`, method),
      required: required.has(prop),
      description: s.description,
    }));
    const def: TypedDictDef = { name, key, code: '' };
    this.typedDicts.push(def);
    this.imports.add('TypedDict');
    const doc = schema.description ?? KNOWN_OBJECT_DOCS[name] ?? `The JSON object \`${name}\` of protocol/openrpc.json.`;
    const req = fields.filter((f) => f.required);
    const opt = fields.filter((f) => !f.required);
    const classic = fields.every((f) => isIdentifier(f.prop));
    const body = (fs: typeof fields) =>
      fs.map((f) => `    ${f.prop}: ${f.type}${f.description ? `  # ${f.description.replace(/\s+/g, ' ')}` : ''}`);
    // Functional syntax for keys that are not Python identifiers.
    const functional = (cls: string, fs: typeof fields, total: boolean) =>
      `${cls} = TypedDict(${pyStr(cls)}, {${fs.map((f) => `${pyStr(f.prop)}: ${f.type}`).join(', ')}}${total ? '' : ', total=False'})`;
    const lines: string[] = [];
    if (!classic) {
      if (req.length && opt.length) throw new GenError(`'${name}': non-identifier keys with optional members are not supported`);
      lines.push(functional(name, fields, opt.length === 0));
      lines.push(`${name}.__doc__ = """${docText(doc)}"""`);
    } else if (req.length && opt.length) {
      lines.push(`class _${name}Required(TypedDict):`, ...body(req), '', '');
      lines.push(`class ${name}(_${name}Required, total=False):`, ...classDoc(doc), '', ...body(opt));
    } else {
      lines.push(`class ${name}(TypedDict${req.length ? '' : ', total=False'}):`, ...classDoc(doc), '', ...body(fields));
    }
    def.code = lines.join('\n');
    return name;
  }
}

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
    'Every procedure is a method of `Connection` named as the libvirt C function;',
    'handles (virDomainPtr, virDomainSnapshotPtr) are plain dicts (DomainHandle,',
    'SnapshotHandle) and the methods take the domain and snapshot by name.',
    'A libvirt error raises `VirError` (or its subclass for the error name);',
    'a JSON-RPC protocol error (reserved codes -32768..-32000) raises `RpcError`.',
    '"""',
    '',
  );

  const stdTyping = ['Any', 'Callable', 'Dict', 'Mapping', 'Optional', 'Type', 'cast'];
  const typingNames = [...new Set([...stdTyping, ...types.imports])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  emit(
    'import json',
    'import os',
    'import socket',
    'import threading',
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
    'error_from_wire', 'default_socket_path', 'read_only_socket_path',
    ...types.typedDicts.map((t) => t.name),
    ...classes.map(([c]) => c),
    ...errorEntries.map(([n]) => n),
    ...flagValues.keys(),
  ];
  emit('', '', '__all__ = [', ...allNames.map((n) => `    ${pyStr(n)},`), ']');
  return out.join('\n') + '\n';
}

/** One `Connection` method. */
function renderMethod(m: OpenRpcMethod, types: TypeMapper): string {
  const hint = upperFirst(m.name);
  const params = m.params.map((p) => {
    const ident = pyIdent(p.name);
    if (RESERVED_METHODS.has(ident) || ident === 'self' || ident === 'params') throw new GenError(`${m.name}: parameter '${p.name}' is reserved`);
    const base = types.type(p.schema, `${hint}${upperFirst(p.name)}`, m.name);
    const required = p.required === true;
    const dflt = required ? undefined : pyLiteral(p.schema.default);
    let annotation: string;
    let defaultText: string | undefined;
    if (required) {
      annotation = base;
    } else if (dflt !== undefined && dflt !== 'None') {
      annotation = base;
      defaultText = dflt;
    } else {
      annotation = base.startsWith('Optional[') || base === 'Any' ? base : `Optional[${base}]`;
      defaultText = 'None';
    }
    return { wire: p.name, ident, annotation, defaultText, required, schema: p.schema };
  });
  const result = m.result ? types.type(m.result.schema, `${hint}Result`, m.name) : 'Any';

  // A required parameter after an optional one: from there on, keyword-only.
  const sig: string[] = ['self'];
  let sawOptional = false;
  let starred = false;
  for (const p of params) {
    if (p.required && sawOptional && !starred) {
      sig.push('*');
      starred = true;
    }
    if (!p.required) sawOptional = true;
    sig.push(`${p.ident}: ${p.annotation}${p.defaultText !== undefined ? ` = ${p.defaultText}` : ''}`);
  }

  const doc: string[] = [];
  if (m.summary) doc.push(...wrap(m.summary, 72));
  if (params.length) {
    doc.push('', 'Args:');
    for (const p of params) {
      const bits: string[] = [];
      if (p.schema.description) bits.push(sentence(p.schema.description));
      const { minimum: min, maximum: max } = p.schema;
      if (min !== undefined && max !== undefined) bits.push(`Range ${min}..${max}.`);
      else if (min !== undefined) bits.push(`Minimum ${min}.`);
      else if (max !== undefined) bits.push(`Maximum ${max}.`);
      if (!p.required) bits.push(p.defaultText === 'None' ? 'Optional: not sent when None.' : `Default ${p.defaultText}.`);
      doc.push(...wrap(`${p.ident} (${p.annotation}): ${bits.join(' ') || 'Required.'}`, 76, '    ', '        '));
    }
  }
  const flags = m['x-flags'];
  if (flags && Object.keys(flags).length) {
    doc.push('', 'Flags:');
    for (const [f, v] of Object.entries(flags)) doc.push(`    ${f} (${v})`);
  }
  doc.push('', 'Returns:', `    ${result}`);
  if (m.errors?.length) {
    doc.push('', 'Raises:');
    doc.push(...wrap(m.errors.map((e) => `${e.message} (${e.code})`).join(', '), 72, '    ', '    '));
  }
  const meta = [
    m['x-id'] !== undefined ? `id ${m['x-id']}` : undefined,
    m['x-access'] ? `access ${m['x-access']}` : undefined,
    m['x-scope'] ? `scope ${m['x-scope']}` : undefined,
    m['x-job'] !== undefined ? `job ${m['x-job'] ? 'yes' : 'no'}` : undefined,
  ].filter(Boolean);
  if (meta.length) doc.push('', `Protocol: ${meta.join(', ')}.`);

  const lines: string[] = [];
  const oneLine = `    def ${m.name}(${sig.join(', ')}) -> ${result}:`;
  if (oneLine.length <= 100) lines.push(oneLine);
  else lines.push(`    def ${m.name}(`, ...sig.map((s) => `        ${s},`), `    ) -> ${result}:`);
  lines.push(`        """${docText(doc[0] ?? m.name)}`);
  for (const d of doc.slice(1)) lines.push(d ? `        ${docText(d)}` : '');
  lines.push('        """');
  const always = params.filter((p) => p.defaultText !== 'None');
  const maybe = params.filter((p) => p.defaultText === 'None');
  lines.push(`        params: Dict[str, Any] = {${always.map((p) => `${pyStr(p.wire)}: ${p.ident}`).join(', ')}}`);
  for (const p of maybe) lines.push(`        if ${p.ident} is not None:`, `            params[${pyStr(p.wire)}] = ${p.ident}`);
  lines.push(`        return cast(${pyStr(result)}, self.call(${pyStr(m.name)}, params))`);
  return lines.join('\n');
}

function wrap(text: string, width: number, first = '', rest = first): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const w of words) {
    if (!fresh && line.length + 1 + w.length > width) {
      lines.push(line);
      line = rest + w;
    } else {
      line += (fresh ? '' : ' ') + w;
    }
    fresh = false;
  }
  if (!fresh) lines.push(line);
  return lines;
}

/** A class docstring, indented by four. */
function classDoc(text: string): string[] {
  const one = `    """${docText(text)}"""`;
  if (one.length <= 88) return [one];
  const lines = wrap(docText(text), 80, '    ', '    ');
  lines[0] = `    """${lines[0]!.trimStart()}`;
  return [...lines, '    """'];
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function wrapComment(text: string): string[] {
  return wrap(text, 78, '# ', '#   ');
}

// ---- fixed Python: exceptions, paths, the connection ------------------------------

const PY_ERRORS_BASE = `class RpcError(Exception):
    """A JSON-RPC level error (reserved codes -32768..-32000: parse error,
    invalid request, method not found, invalid params): a client bug or a
    protocol mismatch, never a libvirt error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "RpcError(code=%r, message=%r)" % (self.code, self.message)


class VirError(Exception):
    """A libvirt error: \`code\` is the virErrorNumber, \`name\` its VIR_ERR_* name,
    \`domain\` the VIR_FROM_* name and \`message\` libvirt's text. The subclass
    raised is the one for \`name\` (VirNoDomainSnapshotError for
    VIR_ERR_NO_DOMAIN_SNAPSHOT...) when the name is known."""

    CODE: Optional[int] = None
    NAME: Optional[str] = None

    def __init__(self, code: int, message: str, name: str, domain: str = "VIR_FROM_NONE") -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.domain = domain
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "%s(code=%r, name=%r, domain=%r, message=%r)" % (
            type(self).__name__, self.code, self.name, self.domain, self.message)

    # libvirt-python's libvirtError accessors.
    def get_error_code(self) -> int:
        return self.code

    def get_error_message(self) -> str:
        return self.message

    def get_error_domain(self) -> str:
        return self.domain`;

const PY_ERROR_FROM_WIRE = `def error_from_wire(code: int, message: str, data: Any = None) -> Exception:
    """The exception for a JSON-RPC error object: RpcError for the reserved
    codes, else the VirError subclass of data.name (or of the code's name)."""
    if -32768 <= code <= -32000:
        return RpcError(code, message, data)
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        name = ERROR_NAMES.get(code, "VIR_ERR_INTERNAL_ERROR")
    domain = data.get("domain") if isinstance(data, dict) else None
    if not isinstance(domain, str):
        domain = "VIR_FROM_NONE"
    cls = ERROR_CLASSES.get(name, VirError)
    return cls(code, message, name, domain)`;

const PY_PATHS = `def default_socket_path(env: Optional[Mapping[str, str]] = None) -> str:
    """The daemon's default read-write socket, the rule of protocol/paths.ts:
    /run/virtsnap/virtsnap-sock for root, else
    $XDG_RUNTIME_DIR/virtsnap/virtsnap-sock, or without $XDG_RUNTIME_DIR (as
    libvirt does) $XDG_CACHE_HOME/virtsnap/virtsnap-sock, $XDG_CACHE_HOME
    defaulting to $HOME/.cache."""
    if env is None:
        env = os.environ
    uid = os.getuid()
    if uid == 0:
        return "/run/virtsnap/virtsnap-sock"
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        base = runtime
    else:
        base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.normpath(os.path.join(base, "virtsnap", "virtsnap-sock"))


def read_only_socket_path(socket_path: str) -> str:
    """The read-only socket next to a read-write one."""
    return socket_path + "-ro"`;

const PY_CONNECTION = `class Connection:
    """A connection to virtsnapd: JSON-RPC 2.0, Content-Length framing, over
    the daemon's Unix socket. Calls are synchronous and serialised (one lock);
    share a Connection between threads or open one per thread.

    socket_path: default $VIRTSNAP_SOCKET, else default_socket_path().
    readonly: use the read-only socket (<socket>-ro); writes raise
        VirOperationDeniedError.
    timeout: seconds per socket operation (None: wait forever); a timeout
        raises VirOperationTimeoutError.

    The daemon opens its default URI on the first call; call
    virConnectOpen(uri) first to pick another one.
    """

    def __init__(self, socket_path: Optional[str] = None, readonly: bool = False,
                 timeout: Optional[float] = None) -> None:
        if socket_path is None:
            socket_path = os.environ.get("VIRTSNAP_SOCKET")
        if socket_path is None:
            socket_path = default_socket_path()
        self.path = read_only_socket_path(socket_path) if readonly else socket_path
        #: Called as handler(method, params) for each notification the daemon
        #: sends while a call waits for its answer (None drops them). It runs
        #: inside that call: it must not call this connection itself.
        self.notification_handler: Optional[Callable[[str, Any], None]] = None
        self._lock = threading.Lock()
        self._next_id = 1
        self._buf = b""
        self._sock: Optional[socket.socket] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            self._sock = None
            raise ERROR_CLASSES["VIR_ERR_INTERNAL_ERROR"](
                VIR_ERR_INTERNAL_ERROR,
                "Failed to connect socket to '%s': %s" % (self.path, e.strerror or e),
                "VIR_ERR_INTERNAL_ERROR", "VIR_FROM_RPC") from None

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket (the daemon forgets the connection's state)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """Send one request (params by name) and return its result, or raise
        VirError / RpcError. The typed methods below all go through here."""
        with self._lock:
            sock = self._sock
            if sock is None:
                raise self._rpc_error("the connection is closed")
            request_id = self._next_id
            self._next_id += 1
            request = {"jsonrpc": "2.0", "id": request_id, "method": method,
                       "params": params if params is not None else {}}
            try:
                self._send(sock, request)
                while True:
                    msg = self._receive(sock)
                    if "method" in msg:
                        self._incoming(sock, msg)
                        continue
                    if msg.get("id") == request_id or (msg.get("id") is None and "error" in msg):
                        break
                    # an answer to a request that timed out earlier: drop it
            except socket.timeout:
                raise ERROR_CLASSES["VIR_ERR_OPERATION_TIMEOUT"](
                    VIR_ERR_OPERATION_TIMEOUT, "Timed out during operation: %s" % method,
                    "VIR_ERR_OPERATION_TIMEOUT", "VIR_FROM_RPC") from None
            except OSError as e:
                raise self._rpc_error("cannot talk to '%s': %s" % (self.path, e.strerror or e)) from None
        if "error" in msg:
            err = msg["error"] if isinstance(msg["error"], dict) else {}
            code = err.get("code")
            raise error_from_wire(code if isinstance(code, int) else -32603,
                                  str(err.get("message", "")), err.get("data"))
        return msg.get("result")

    # ---- framing ----------------------------------------------------------------

    @staticmethod
    def _rpc_error(message: str) -> VirError:
        return ERROR_CLASSES["VIR_ERR_RPC"](VIR_ERR_RPC, message, "VIR_ERR_RPC", "VIR_FROM_RPC")

    def _send(self, sock: socket.socket, msg: Dict[str, Any]) -> None:
        body = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sock.sendall(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)

    def _fill(self, sock: socket.socket) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise self._rpc_error("End of file while reading data: the daemon closed the connection")
        self._buf += chunk

    def _receive(self, sock: socket.socket) -> Dict[str, Any]:
        while b"\\r\\n\\r\\n" not in self._buf:
            self._fill(sock)
        head, _, rest = self._buf.partition(b"\\r\\n\\r\\n")
        length = -1
        for line in head.decode("ascii", "replace").split("\\r\\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == "content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length < 0:
            raise self._rpc_error("a message without a valid Content-Length header")
        self._buf = rest
        while len(self._buf) < length:
            self._fill(sock)
        body, self._buf = self._buf[:length], self._buf[length:]
        try:
            msg = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise self._rpc_error("a message that is not JSON: %s" % e) from None
        if not isinstance(msg, dict):
            raise self._rpc_error("a message that is not a JSON object")
        return msg

    def _incoming(self, sock: socket.socket, msg: Dict[str, Any]) -> None:
        if "id" in msg:
            # A request from the daemon: this client serves none.
            self._send(sock, {"jsonrpc": "2.0", "id": msg["id"],
                              "error": {"code": -32601, "message": "Unhandled method %s" % msg.get("method")}})
        elif self.notification_handler is not None:
            self.notification_handler(str(msg.get("method")), msg.get("params"))

    # ---- the procedures, generated from the OpenRPC methods -----------------------`;

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
