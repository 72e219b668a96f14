/**
 * The Python client generator's vocabulary: the part of OpenRPC + JSON Schema it
 * understands, Python names and literals, and text wrapping for docstrings and
 * comments.
 */
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
  components?: { 'x-errors'?: Record<string, number>; 'x-credential-types'?: Record<string, number> };
}

export const PY_KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del',
  'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal',
  'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
/** Names of the generated module and of Connection that a procedure or parameter must not shadow. */
export const RESERVED_METHODS = new Set(['call', 'close', 'path', 'notification_handler']);

export class GenError extends Error {}

export function isIdentifier(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && !PY_KEYWORDS.has(s);
}

/** A Python identifier for a wire name: `from` → `from_`. */
export function pyIdent(name: string): string {
  if (isIdentifier(name)) return name;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `${name}_`;
  throw new GenError(`'${name}' cannot be turned into a Python identifier`);
}

/** A Python literal for a JSON scalar; undefined for anything else. */
export function pyLiteral(v: unknown): string | undefined {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return pyStr(v);
  return undefined;
}

/** A JSON string literal is a valid Python string literal (\", \\, \n, \uXXXX). */
export function pyStr(s: string): string {
  return JSON.stringify(s);
}

/** Text inside a """docstring""". */
export function docText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"""/g, '\\"\\"\\"');
}

/** `VIR_ERR_NO_DOMAIN_SNAPSHOT` → `VirNoDomainSnapshotError`, `VIR_ERR_XML_ERROR` → `VirXmlError`. */
export function errorClassName(errName: string): string {
  const words = errName.replace(/^VIR_ERR_/, '').split('_').filter(Boolean);
  const camel = words.map((w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase()).join('');
  return `Vir${camel}${camel.endsWith('Error') ? '' : 'Error'}`;
}

export function upperFirst(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}


export function wrap(text: string, width: number, first = '', rest = first): string[] {
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
export function classDoc(text: string): string[] {
  const one = `    """${docText(text)}"""`;
  if (one.length <= 88) return [one];
  const lines = wrap(docText(text), 80, '    ', '    ');
  lines[0] = `    """${lines[0]!.trimStart()}`;
  return [...lines, '    """'];
}

export function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

export function wrapComment(text: string): string[] {
  return wrap(text, 78, '# ', '#   ');
}

