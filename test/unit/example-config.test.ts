import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../daemon/config-file.js';
import { configKey, configSchema, exampleConfig, OPTIONS } from '../../daemon/options.js';
import { repoRoot } from '../helpers/daemon.js';

const file = path.join(repoRoot, 'packaging', 'virtsnapd.conf');

describe('packaging/virtsnapd.conf', () => {
  it('is generated from the options table (regenerate: node -e "import(\'./dist/daemon/options.js\').then(m => process.stdout.write(m.exampleConfig()))" > packaging/virtsnapd.conf)', () => {
    expect(readFileSync(file, 'utf8')).toBe(exampleConfig());
  });

  it('documents every setting, and every line is valid once uncommented', () => {
    const text = readFileSync(file, 'utf8');
    const uncommented = text.split('\n').map((l) => (/^#[a-z_]+ = /.test(l) ? l.slice(1) : l)).join('\n');
    const parsed = parseConfig(uncommented, file, configSchema());
    expect(Object.keys(parsed).sort()).toEqual(OPTIONS.map((o) => configKey(o.flag)).sort());
  });
});
