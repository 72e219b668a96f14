/**
 * Writes a test-driver state directory holding one domain (`test`) with n
 * snapshots, in the store's own format, without going through the daemon: the
 * scale runs start virtsnapd on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeName } from '../drivers/common/name-encoding.js';
import { defaultTestDomainXml, formatDomainXml, parseDomainXml } from '../drivers/common/xml/domain-xml.js';
import { formatSnapshotXml } from '../drivers/common/xml/snapshot-xml.js';

export type Shape = 'chain' | 'siblings';

export function generateStore(stateDir: string, n: number, shape: Shape): { uuid: string; root: string; names: string[] } {
  const def = parseDomainXml(defaultTestDomainXml);
  const base = path.join(stateDir, 'test', 'default');
  const dir = path.join(base, 'domains', def.uuid);
  mkdirSync(path.join(dir, 'snapshots'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(base, 'seeded'), 'test:///default seeded\n');
  writeFileSync(path.join(dir, 'domain.xml'), formatDomainXml(def));
  writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ state: 1, reason: 1, id: 1, persistent: true }) + '\n');
  const template = (parent: boolean, active: boolean) => formatSnapshotXml({
    name: '@NAME@', state: 'running', parent: parent ? '@PARENT@' : undefined, creationTime: 1_700_000_000,
    memory: { snapshot: 'internal' }, disks: [{ name: 'vda', snapshot: 'internal' }], domain: def.element, active,
  }, { internal: true, uuid: def.uuid });
  const templates = [[template(false, false), template(false, true)], [template(true, false), template(true, true)]];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `s${i}`;
    names.push(name);
    const parent = i === 0 ? undefined : shape === 'chain' ? `s${i - 1}` : 's0';
    const xml = templates[parent !== undefined ? 1 : 0]![i === n - 1 ? 1 : 0]!
      .replace('@NAME@', name)
      .replace('@PARENT@', parent ?? '')
      .replace('1700000000', String(1_700_000_000 + i));
    writeFileSync(path.join(dir, 'snapshots', `${encodeName(name)}.xml`), xml);
  }
  return { uuid: def.uuid, root: dir, names };
}

