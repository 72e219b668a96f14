/**
 * The crash harness: SIGKILL virtsnapd at random moments during mixed
 * create / delete / revert / redefine traffic on several domains, restart it,
 * and check the invariants:
 *
 * - every acknowledged operation is durable: the recovered tree of each domain
 *   is exactly the model built from the acknowledged replies, or that model
 *   plus the one operation that was in flight on that domain at the kill
 *   (nothing half-made: names, parents, current and descriptions all match one
 *   of the two);
 * - the tree is consistent: at most one current, no dangling parent;
 * - on disk: every snapshot file parses and sits under the file name of its
 *   snapshot, no temp or trash file is left once the daemon is up;
 * - the daemon reports no store problem at start-up, and `virtsnapd --check`
 *   (run every `checkEvery` kills on the dead daemon's state) says consistent.
 *
 * Each domain has one sequential worker, so at most one operation per domain is
 * in flight when the kill lands.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RawClient, type WireMessage } from './raw-client.js';
import { parseXmlDocument } from '../protocol/xml/xml-parse.js';
import { childAt, textContent } from '../drivers/common/xml/xml-query.js';
import { encodeName } from '../drivers/common/name-encoding.js';
import { isTempFile } from '../drivers/common/atomic-file.js';
import { runCheck, spawnDaemon, type DaemonProc } from './daemon-process.js';

export interface CrashOptions {
  kills: number;
  /** Domains with traffic (the seeded `test` plus defined ones). */
  domains?: number;
  /** Traffic runs this long (uniform in [min, max] ms) before each kill. */
  minMs?: number;
  maxMs?: number;
  /** Run `virtsnapd --check` on the dead daemon's state every this many kills (0: never). */
  checkEvery?: number;
  seed?: number;
  /** Snapshots per domain the workers steer towards. */
  targetSnapshots?: number;
  progress?: (line: string) => void;
}

export interface CrashResult {
  kills: number;
  seed: number;
  seconds: number;
  acknowledged: Record<string, number>;
  /** Operations in flight when a kill landed, and how many of those turned out applied. */
  inFlightAtKill: number;
  inFlightApplied: number;
  checkRuns: number;
  failures: string[];
}

interface SnapModel {
  parent: string | null;
  desc: string;
}

interface DomModel {
  snaps: Map<string, SnapModel>;
  current: string | null;
}

type Op =
  | { kind: 'create'; name: string; desc: string }
  | { kind: 'delete'; name: string; children: boolean }
  | { kind: 'revert'; name: string }
  | { kind: 'redefine'; name: string; desc: string; current: boolean; xml: string };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function clone(m: DomModel): DomModel {
  return { snaps: new Map([...m.snaps].map(([k, v]) => [k, { ...v }])), current: m.current };
}

function apply(m0: DomModel, op: Op): DomModel {
  const m = clone(m0);
  switch (op.kind) {
    case 'create':
      m.snaps.set(op.name, { parent: m.current, desc: op.desc });
      m.current = op.name;
      break;
    case 'revert':
      m.current = op.name;
      break;
    case 'redefine':
      m.snaps.get(op.name)!.desc = op.desc;
      if (op.current) m.current = op.name;
      break;
    case 'delete': {
      const parent = m.snaps.get(op.name)!.parent;
      if (op.children) {
        const doomed = new Set([op.name]);
        for (let grew = true; grew;) {
          grew = false;
          for (const [n, s] of m.snaps) if (s.parent !== null && doomed.has(s.parent) && !doomed.has(n)) doomed.add(n), (grew = true);
        }
        if (m.current !== null && doomed.has(m.current)) m.current = parent;
        for (const n of doomed) m.snaps.delete(n);
      } else {
        for (const s of m.snaps.values()) if (s.parent === op.name) s.parent = parent;
        if (m.current === op.name) m.current = parent;
        m.snaps.delete(op.name);
      }
      break;
    }
  }
  return m;
}

function canon(m: DomModel): string {
  return JSON.stringify({ current: m.current, snaps: [...m.snaps].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) });
}

class CallFailed extends Error {
  constructor(readonly reply: WireMessage) {
    super(`${reply.error?.code}: ${reply.error?.message}`);
  }
}

async function call(c: RawClient, method: string, params: Record<string, unknown>): Promise<unknown> {
  const r = await c.call(method, params, 30_000);
  if (r.error) throw new CallFailed(r);
  return r.result;
}

/** The tree of one domain as the API reports it. */
async function observe(c: RawClient, domain: string): Promise<{ model: DomModel; problems: string[] }> {
  const problems: string[] = [];
  const list = (await call(c, 'virDomainListAllSnapshots', { domain })) as Array<{ name: string }>;
  const xmls = await Promise.all(list.map((s) => call(c, 'virDomainSnapshotGetXMLDesc', { domain, snapshot: s.name }) as Promise<string>));
  const model: DomModel = { snaps: new Map(), current: null };
  for (const [i, s] of list.entries()) {
    const root = parseXmlDocument(xmls[i]!, 'domain_snapshot');
    const parentEl = childAt(root, 'parent/name');
    const descEl = childAt(root, 'description');
    model.snaps.set(s.name, { parent: parentEl ? textContent(parentEl) : null, desc: descEl ? textContent(descEl) : '' });
  }
  const hasCurrent = (await call(c, 'virDomainHasCurrentSnapshot', { domain })) as number;
  if (hasCurrent) model.current = ((await call(c, 'virDomainSnapshotCurrent', { domain })) as { name: string }).name;
  const currents = await Promise.all(list.map((s) => call(c, 'virDomainSnapshotIsCurrent', { domain, snapshot: s.name }) as Promise<number>));
  if (currents.filter((x) => x === 1).length > 1) problems.push(`${domain}: more than one current snapshot`);
  for (const [n, s] of model.snaps) {
    if (s.parent !== null && !model.snaps.has(s.parent)) problems.push(`${domain}: snapshot ${JSON.stringify(n)} has a dangling parent ${JSON.stringify(s.parent)}`);
  }
  return { model, problems };
}

/** Files on disk: no temp/trash anywhere, every snapshot file parses under its own name. */
function checkDisk(stateDir: string, uuids: Map<string, string>): string[] {
  const problems: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (isTempFile(name) || name.startsWith('.trash-')) problems.push(`leftover file ${path.relative(stateDir, full)}`);
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(stateDir);
  const domainsDir = path.join(stateDir, 'test', 'default', 'domains');
  for (const [domain, uuid] of uuids) {
    const snapDir = path.join(domainsDir, uuid, 'snapshots');
    if (!existsSync(snapDir)) continue;
    for (const file of readdirSync(snapDir)) {
      try {
        const root = parseXmlDocument(readFileSync(path.join(snapDir, file), 'utf8'), 'domain_snapshot');
        const nameEl = childAt(root, 'name');
        const name = nameEl ? textContent(nameEl) : '';
        if (`${encodeName(name)}.xml` !== file) problems.push(`${domain}: ${file} holds snapshot ${JSON.stringify(name)}`);
      } catch (e) {
        problems.push(`${domain}: ${file} does not parse: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
  return problems;
}

export async function runCrashHarness(opts: CrashOptions): Promise<CrashResult> {
  const seed = opts.seed ?? (Date.now() % 1_000_000);
  const rand = prng(seed);
  const nDomains = opts.domains ?? 4;
  const minMs = opts.minMs ?? 5;
  const maxMs = opts.maxMs ?? 80;
  const target = opts.targetSnapshots ?? 8;
  const progress = opts.progress ?? (() => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-crash-'));
  const socket = path.join(dir, 'sock');
  const stateDir = path.join(dir, 'state');
  const result: CrashResult = {
    kills: 0, seed, seconds: 0, acknowledged: { create: 0, delete: 0, revert: 0, redefine: 0 },
    inFlightAtKill: 0, inFlightApplied: 0, checkRuns: 0, failures: [],
  };
  const fail = (what: string) => {
    result.failures.push(`kill ${result.kills}: ${what}`);
    progress(`FAILURE at kill ${result.kills}: ${what}`);
  };
  const started = Date.now();
  let daemon: DaemonProc | undefined;
  try {
    // ---- set-up: the extra domains, defined through the API
    daemon = await spawnDaemon(socket, stateDir);
    const setup = await RawClient.connect(socket);
    const testXml = (await call(setup, 'virDomainGetXMLDesc', { domain: 'test' })) as string;
    const domains = ['test'];
    for (let i = 1; i < nDomains; i++) {
      const uuid = `6695eb01-f6a4-8304-79aa-${String(i).padStart(12, '0')}`;
      const xml = testXml.replace(/<name>test<\/name>/, `<name>crash${i}</name>`).replace(/<uuid>[^<]*<\/uuid>/, `<uuid>${uuid}</uuid>`)
        .replace(/<domain([^>]*) id='[^']*'/, '<domain$1');
      await call(setup, 'virDomainDefineXML', { xml });
      domains.push(`crash${i}`);
    }
    const uuids = new Map<string, string>();
    for (const dom of domains) uuids.set(dom, ((await call(setup, 'virDomainLookupByName', { name: dom })) as { uuid: string }).uuid);
    setup.close();
    const models = new Map<string, DomModel>(domains.map((d) => [d, { snaps: new Map(), current: null }]));
    let seq = 0;

    for (let kill = 0; kill < opts.kills; kill++) {
      result.kills = kill;
      // ---- one round of traffic, cut by SIGKILL
      const inFlight = new Map<string, Op>();
      const clients = await Promise.all(domains.map(() => RawClient.connect(socket)));
      let stop = false;
      const worker = async (domIdx: number) => {
        const domain = domains[domIdx]!;
        const c = clients[domIdx]!;
        while (!stop) {
          const m = models.get(domain)!;
          const names = [...m.snaps.keys()];
          const pick = () => names[Math.floor(rand() * names.length)]!;
          const r = rand();
          let op: Op;
          if (names.length === 0 || (r < 0.4 && names.length < target * 1.5)) {
            const n = seq++;
            const name = n % 7 === 3 ? `k${kill}/n${n} é` : `k${kill}-n${n}`;
            op = { kind: 'create', name, desc: `created ${n}` };
          } else if (r < 0.65 || names.length > target * 1.5) {
            op = { kind: 'delete', name: pick(), children: rand() < 0.2 };
          } else if (r < 0.85) {
            op = { kind: 'revert', name: pick() };
          } else {
            const name = pick();
            let xml: string;
            try {
              xml = (await call(c, 'virDomainSnapshotGetXMLDesc', { domain, snapshot: name })) as string;
            } catch (e) {
              if (!(e instanceof CallFailed)) return;
              fail(`${domain}: GetXMLDesc(${name}) failed: ${e.message}`);
              return;
            }
            const desc = `redefined ${seq++}`;
            const body = xml.includes('<description>')
              ? xml.replace(/<description>[\s\S]*?<\/description>/, `<description>${esc(desc)}</description>`)
              : xml.replace(/(<name>[^<]*<\/name>)/, `$1\n  <description>${esc(desc)}</description>`);
            op = { kind: 'redefine', name, desc, current: rand() < 0.3, xml: body };
          }
          inFlight.set(domain, op);
          try {
            switch (op.kind) {
              case 'create':
                await call(c, 'virDomainSnapshotCreateXML', {
                  domain, xml: `<domainsnapshot><name>${esc(op.name)}</name><description>${esc(op.desc)}</description></domainsnapshot>`, flags: 0,
                });
                break;
              case 'delete':
                await call(c, 'virDomainSnapshotDelete', { domain, snapshot: op.name, flags: op.children ? 1 : 0 });
                break;
              case 'revert':
                await call(c, 'virDomainRevertToSnapshot', { domain, snapshot: op.name, flags: 0 });
                break;
              case 'redefine':
                await call(c, 'virDomainSnapshotCreateXML', { domain, xml: op.xml, flags: 1 | (op.current ? 2 : 0) });
                break;
            }
          } catch (e) {
            if (e instanceof CallFailed) {
              inFlight.delete(domain);
              fail(`${domain}: unexpected error from ${op.kind} ${JSON.stringify(op.name)}: ${e.message}`);
            }
            return; // the daemon died under us: `op` stays in flight
          }
          inFlight.delete(domain);
          models.set(domain, apply(m, op));
          result.acknowledged[op.kind]!++;
        }
      };
      const workers = domains.map((_, i) => worker(i));
      await new Promise((r) => setTimeout(r, minMs + rand() * (maxMs - minMs)));
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      stop = true;
      for (const c of clients) c.close();
      await Promise.all(workers);

      if (opts.checkEvery && (kill + 1) % opts.checkEvery === 0) {
        result.checkRuns++;
        const chk = runCheck(stateDir);
        if (chk.code !== 0 || !/state directory is consistent/.test(chk.output)) fail(`virtsnapd --check: exit ${chk.code}: ${chk.output.trim()}`);
      }

      // ---- restart and check every invariant
      daemon = await spawnDaemon(socket, stateDir);
      const startupLog = daemon.output().trim();
      if (startupLog !== '') fail(`start-up reported: ${startupLog}`);
      const c = await RawClient.connect(socket);
      for (const domain of domains) {
        const { model: seen, problems } = await observe(c, domain);
        for (const p of problems) fail(p);
        const acked = models.get(domain)!;
        const op = inFlight.get(domain);
        if (op) result.inFlightAtKill++;
        if (canon(seen) === canon(acked)) continue;
        if (op && canon(seen) === canon(apply(acked, op))) {
          result.inFlightApplied++;
          models.set(domain, apply(acked, op));
          continue;
        }
        fail(`${domain}: recovered tree ${canon(seen)} is neither the acknowledged one ${canon(acked)}${op ? ` nor that plus the in-flight ${op.kind} ${JSON.stringify(op.name)}` : ''}`);
        models.set(domain, seen); // carry on from what is there
      }
      c.close();
      for (const p of checkDisk(stateDir, uuids)) fail(p);
      result.kills = kill + 1;
      if ((kill + 1) % 50 === 0) {
        const acked = Object.values(result.acknowledged).reduce((a, b) => a + b, 0);
        progress(`${kill + 1} kills, ${acked} acknowledged ops, ${result.failures.length} failures, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }
    // Last: a clean stop and an offline check.
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    daemon = undefined;
    result.checkRuns++;
    const chk = runCheck(stateDir);
    if (chk.code !== 0 || !/state directory is consistent/.test(chk.output)) fail(`final virtsnapd --check: exit ${chk.code}: ${chk.output.trim()}`);
  } finally {
    if (daemon) {
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
    }
    result.seconds = (Date.now() - started) / 1000;
    if (result.failures.length === 0) rmSync(dir, { recursive: true, force: true });
    else progress(`state kept for inspection in ${dir}`);
  }
  return result;
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
