/** One `Connection` method of the generated Python client, from an OpenRPC method. */
import { docText, GenError, pyIdent, pyLiteral, pyStr, RESERVED_METHODS, sentence, upperFirst, wrap, type OpenRpcMethod } from './pytext.js';
import type { TypeMapper } from './type-mapper.js';

/** One `Connection` method. */
export function renderMethod(m: OpenRpcMethod, types: TypeMapper): string {
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

