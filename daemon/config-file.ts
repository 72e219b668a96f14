/**
 * virtsnapd.conf: libvirtd.conf's syntax (`key = value`, `#` comments, strings
 * in double quotes, bare integers, `[a, b]` lists), checked against the
 * daemon's option table at start-up. Every mistake is reported with its line.
 */
export type ConfigType = 'string' | 'integer' | 'boolean' | 'integer-list' | 'string-list';

export type ConfigValue = string | number | boolean | number[] | string[];

export class ConfigError extends Error {}

function parseValue(raw: string, type: ConfigType, where: string): ConfigValue {
  const text = raw.trim();
  switch (type) {
    case 'string': {
      const m = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
      if (!m) throw new ConfigError(`${where}: expected a string in double quotes, got ${text}`);
      return m[1]!.replace(/\\(.)/g, '$1');
    }
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new ConfigError(`${where}: expected an integer, got ${text}`);
      return Number(text);
    case 'boolean':
      if (text === '1' || text === '0') return text === '1';
      throw new ConfigError(`${where}: expected 0 or 1, got ${text}`);
    case 'integer-list': {
      const m = /^\[(.*)\]$/.exec(text);
      if (!m) throw new ConfigError(`${where}: expected a list like [1000, 1001], got ${text}`);
      const items = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const i of items) if (!/^\d+$/.test(i)) throw new ConfigError(`${where}: expected a list of integers, got ${text}`);
      return items.map(Number);
    }
    case 'string-list': {
      // ["C=GB,O=Example,CN=*", "..."]: commas inside the quotes belong to the strings.
      const m = /^\[\s*((?:"(?:[^"\\]|\\.)*"\s*(?:,\s*)?)*)\]$/.exec(text);
      if (!m) throw new ConfigError(`${where}: expected a list of strings like ["a", "b"], got ${text}`);
      return [...m[1]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!.replace(/\\(.)/g, '$1'));
    }
  }
}

export function parseConfig(text: string, file: string, schema: Record<string, ConfigType>): Record<string, ConfigValue> {
  const out: Record<string, ConfigValue> = {};
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const stripped = line.replace(/^\s+/, '');
    if (stripped === '' || stripped.startsWith('#')) return;
    const m = /^([a-z_][a-z0-9_]*)\s*=\s*(.*?)\s*(#[^"]*)?$/.exec(stripped);
    if (!m) throw new ConfigError(`${where}: expected 'key = value', got ${line.trim()}`);
    const key = m[1]!;
    const type = schema[key];
    if (!type) {
      const known = Object.keys(schema).sort().join(', ');
      throw new ConfigError(`${where}: unknown setting '${key}' (known: ${known})`);
    }
    if (key in out) throw new ConfigError(`${where}: '${key}' is set twice`);
    out[key] = parseValue(m[2]!, type, `${where}: ${key}`);
  });
  return out;
}
