/**
 * The client's run-time view of the protocol: protocol/openrpc.json, the
 * document generated from the procedure table. Reading it costs well under a
 * millisecond; importing the table itself would load TypeBox (~55 ms).
 */
import { readFileSync } from 'node:fs';

export interface MethodDoc {
  name: string;
  params: Array<{ name: string; required: boolean }>;
  result: { schema: { $id?: string; items?: { $id?: string } } };
  'x-args': string[];
  'x-scope': 'connect' | 'driver' | 'domain' | 'snapshot';
}

let methods: Map<string, MethodDoc> | undefined;

/** The document sits at protocol/openrpc.json, beside client/ in the sources and two levels above dist/client/. */
const CANDIDATES = ['../protocol/openrpc.json', '../../protocol/openrpc.json'];

function load(): Map<string, MethodDoc> {
  for (const rel of CANDIDATES) {
    let text: string;
    try {
      text = readFileSync(new URL(rel, import.meta.url), 'utf8');
    } catch {
      continue;
    }
    const doc = JSON.parse(text) as { methods: MethodDoc[] };
    return new Map(doc.methods.map((m) => [m.name, m]));
  }
  throw new Error('virtsnap client: protocol/openrpc.json not found next to the client');
}

export function methodDoc(name: string): MethodDoc {
  methods ??= load();
  const m = methods.get(name);
  if (!m) throw new Error(`virtsnap client: ${name} is not in protocol/openrpc.json`);
  return m;
}
