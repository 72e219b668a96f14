/** JSON Schema → Python type hints (and the TypedDicts for object types), for the Python client generator. */
import { classDoc, docText, GenError, isIdentifier, pyLiteral, pyStr, upperFirst, type JsonSchema } from './pytext.js';

/** Docstrings for the document's object types that carry no description of their own. */
const KNOWN_OBJECT_DOCS: Record<string, string> = {
  DomainHandle:
    "A domain, as C's virDomainPtr: pass its name (or uuid) wherever a method takes `domain`; id is -1 while shut off.",
  SnapshotHandle:
    "A snapshot, as C's virDomainSnapshotPtr: pass h['domain'] and h['name'] as `domain` and `snapshot`.",
  DomainStateInfo: "virDomainGetState's answer: the virDomainState and its reason.",
};

// ---- JSON Schema → Python type hints ---------------------------------------------

export interface TypedDictDef {
  name: string;
  /** canonical JSON of the schema, to detect two different schemas with one $id */
  key: string;
  code: string;
}

export class TypeMapper {
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

