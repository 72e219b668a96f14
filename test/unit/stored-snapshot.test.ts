/**
 * Compact snapshot nodes read from stored files: the start-up fast path gives
 * exactly what a full parse gives (fields, definition, public XML), and refuses
 * exactly what a full parse refuses.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SnapshotTree } from '../../drivers/common/snapshot-tree.js';
import { StoredSnapshotReader } from '../../drivers/common/stored-snapshot-reader.js';
import { formatSnapshotXml, parseSnapshotXml } from '../../drivers/common/xml/snapshot-xml.js';
import { defaultTestDomainXml, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import type { SnapshotDef } from '../../drivers/common/snapshot-def.js';
import { TestDriver } from '../../drivers/test/test-driver.js';
import { encodeName } from '../../drivers/common/name-encoding.js';
import { tempDir } from '../helpers/daemon.js';
import { cpuMs } from '../helpers/cpu-time.js';

const dom = parseDomainXml(defaultTestDomainXml);
const UUID = dom.uuid;
type Named = SnapshotDef & { name: string };

const defs: Named[] = [
  { name: 'plain', state: 'running', creationTime: 1700000000, memory: { snapshot: 'internal' }, disks: [{ name: 'vda', snapshot: 'internal' }], domain: dom.element, active: false },
  { name: 'a&b <c> "d" \'e\'', description: 'line one\nline & two', state: 'shutoff', parent: 'p&q', creationTime: 1, memory: { snapshot: 'no' }, disks: [{ name: 'vda', snapshot: 'internal' }], domain: dom.element, active: true },
  { name: 'ext', state: 'running', creationTime: 5, memory: { snapshot: 'external', file: '/var/mem.img' }, disks: [{ name: 'vda', snapshot: 'internal' }], domain: dom.element, active: false },
  { name: 'nodisks', state: 'disk-snapshot', creationTime: 7, memory: { snapshot: 'no' }, disks: [], domain: dom.element, active: false },
  { name: 'legacy', state: 'shutoff', creationTime: 9, memory: { snapshot: 'no' }, disks: [], active: false },
  { name: 'ünïcødé 雪', state: 'paused', parent: 'x', creationTime: 11, memory: { snapshot: 'internal' }, disks: [{ name: 'vda', snapshot: 'no' }], domain: dom.element, active: true },
];

describe('stored snapshot reader', () => {
  for (const def of defs) {
    it(`reads '${def.name}' as a full parse would`, () => {
      const text = formatSnapshotXml(def, { internal: true, uuid: UUID });
      const full = parseSnapshotXml(text, { redefine: true, internal: true });
      const node = new StoredSnapshotReader().read(Buffer.from(text));
      expect(node.name).toBe(full.name);
      expect(node.parentName).toBe(full.parent);
      expect(node.creationTime).toBe(full.creationTime ?? 0);
      expect(node.state).toBe(full.state);
      expect(node.active).toBe(full.active);
      expect(node.external).toBe(def.memory?.snapshot === 'external');
      expect(node.publicXml(UUID)).toBe(formatSnapshotXml(full, { internal: false, uuid: UUID }));
      expect(node.storedText(UUID)).toBe(text);
      expect(node.def).toEqual({ ...full, name: full.name });
      // Written out again after a parse: the same bytes.
      expect(node.storedText(UUID)).toBe(text);
    });
  }

  it('parses one template per shape, not one document per file', () => {
    const reader = new StoredSnapshotReader();
    for (let i = 0; i < 500; i++) {
      reader.read(Buffer.from(formatSnapshotXml({ ...defs[0]!, name: `s${i}`, parent: i ? `s${i - 1}` : undefined, creationTime: 1700000000 + i }, { internal: true, uuid: UUID })));
    }
    expect(reader.fullParses).toBeLessThanOrEqual(2);
  });

  const good = formatSnapshotXml(defs[0]!, { internal: true, uuid: UUID });
  const corruptions: Array<[string, string]> = [
    ['a truncated file', good.slice(0, good.length - 20)],
    ['a broken tag inside the embedded domain', good.replace('<vcpu placement=', '<vcpu placement')],
    ['an invalid state', good.replace('<state>running</state>', '<state>bogus</state>')],
    ['an offline snapshot with memory', good.replace('<state>running</state>', '<state>shutoff</state>')],
    ['a bad active value', good.replace('<active>0</active>', '<active>x</active>')],
    ['garbage', '\u0000\u0000\u0000'],
  ];
  for (const [what, text] of corruptions) {
    it(`refuses ${what} with the full parser's error`, () => {
      let expected: unknown;
      try {
        parseSnapshotXml(text, { redefine: true, internal: true });
      } catch (e) {
        expected = e;
      }
      expect(expected, 'the full parser refuses it').toBeDefined();
      expect(() => new StoredSnapshotReader().read(Buffer.from(text))).toThrow((expected as Error).message);
    });
  }

  it('a corrupt snapshot file is reported at start-up (and so by --check), the others load', async () => {
    const stateDir = tempDir('virtsnap-stored-');
    const dir = path.join(stateDir, 'test', 'default', 'domains', UUID);
    mkdirSync(path.join(dir, 'snapshots'), { recursive: true });
    writeFileSync(path.join(stateDir, 'test', 'default', 'seeded'), 'x');
    writeFileSync(path.join(dir, 'domain.xml'), defaultTestDomainXml);
    for (let i = 0; i < 50; i++) {
      const text = formatSnapshotXml({ ...defs[0]!, name: `s${i}`, parent: i ? `s${i - 1}` : undefined, creationTime: 1700000000 + i, active: i === 49 }, { internal: true, uuid: UUID });
      writeFileSync(path.join(dir, 'snapshots', `${encodeName(`s${i}`)}.xml`), i === 20 ? text.replace('<on_reboot>', '<on_reboot') : text);
    }
    const d = await TestDriver.open('test:///default', 'default', { stateDir, log: () => undefined });
    expect(d.loadReport.problems.join('\n')).toMatch(/s20\.xml does not parse/);
    expect(d.loadReport.problems.join('\n')).toMatch(/'s21' had a missing or cyclic parent/);
    const ctx = { domain: d.resolveDomain('test'), client: 't' };
    expect(await d.virDomainSnapshotNum({ domain: 'test', flags: 0 }, ctx)).toBe(49);
    await d.close();
  });

  it('build cuts a long cycle once and keeps a 100k chain linear', () => {
    const nodes: Named[] = [];
    for (let i = 0; i < 100_000; i++) nodes.push({ name: `n${i}`, parent: `n${(i + 99_999) % 100_000}`, disks: [], creationTime: i });
    const { value: { tree, detached }, ms } = cpuMs(() => SnapshotTree.build(nodes));
    expect(ms).toBeLessThan(2000);
    expect(detached.length).toBe(1);
    expect(tree.topological().length).toBe(100_000);
  });
});
