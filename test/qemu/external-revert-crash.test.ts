/**
 * A revert whose fresh overlay reuses the disk's current image name (the state
 * a revert discards: a repeated revert to the same snapshot) cannot be judged
 * committed or not from file names: before and after its commit the
 * definition names the same file. Here the driver dies (and sometimes its
 * QEMU too) at chosen points of such a revert to a memory snapshot, and one
 * such revert fails on its own; each time the domain must end either as it
 * was before the revert or reverted, with the metadata naming images that
 * exist, no QEMU left over, and the guest's disk as that outcome says.
 * The crash is simulated exactly (test/qemu/driver-helpers.ts crash()): the
 * driver is dropped without a flush, its monitors closed, QEMU left as it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DomainStore } from '../../drivers/common/domain-store.js';
import { qemuDriverFactory } from '../../drivers/qemu/qemu-driver.js';
import { domainRunFiles } from '../../drivers/qemu/run-dir.js';
import { chainInfo, createOverlay } from '../../drivers/qemu/snapshots/external-images.js';
import { liveQemuPid } from '../../drivers/qemu/unreachable-qemu.js';
import { VirError } from '../../protocol/errors.js';
import { DomainState as S } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { droppedDriverTests, hang, storedIntent, type Execute } from './crash-helpers.js';
import { CMOS_REG, harness, killQemusUnder, waitFor, type Harness } from './driver-helpers.js';
import { extOps } from './external-helpers.js';
import { getCmos, setCmos } from './helpers.js';

let h: Harness | undefined;
droppedDriverTests(() => h, () => { h = undefined; });

const recovered = (x: Harness) => x.logs.filter((l) => /interrupted external snapshot operation/.test(l)).join('\n');
const current = async (x: Harness) => (await x.driver.virDomainSnapshotCurrent({ domain: x.uuid, flags: 0 }, x.ctx)).name;
/** The pid of a QEMU of the domain that is still alive, if any (by its pidfile). */
const liveQemu = (x: Harness) => liveQemuPid(domainRunFiles(path.join(x.stateDir, 'qemu', 'session', 'run'), x.uuid));

/** The next QEMU the driver starts hangs on `cmd`. */
function hangNextQemu(x: Harness, cmd: string): () => boolean {
  const runtime = x.driver.hooks.runtime;
  const launch = runtime.launch.bind(runtime);
  let reached = () => false;
  runtime.launch = async (...args) => {
    const rt = await launch(...args);
    reached = hang(rt.proc.qmp, cmd);
    return rt;
  };
  return () => reached();
}

/** A revert to 'm' left stuck on the next QEMU's `cmd` (QEMU killed too with `powerLoss`), the driver about to die. */
async function revertStuckAt(x: Harness, cmd: string, powerLoss = false): Promise<void> {
  const reached = hangNextQemu(x, cmd);
  void extOps(x).revert('m').catch(() => undefined);
  await waitFor(reached);
  if (powerLoss) {
    await x.driver.abandon();
    killQemusUnder(x.stateDir);
  }
}

/**
 * A running domain with memory snapshot 'm' (disk pattern 0x11, CMOS 0x5a), on
 * m's overlay d0.m, then changed (0x22, CMOS 0xa5): a revert to 'm' reuses d0.m.
 */
async function atReusedRevert(x: Harness) {
  const o = extOps(x);
  const mem = path.join(x.dir, 'm.mem');
  const overlay = path.join(x.dir, 'd0.m');
  await o.start();
  await setCmos(x.qemu(), CMOS_REG, 0x5a);
  await o.write(0, 0x11);
  await o.create('m', 0, `<memory snapshot='external' file='${mem}'/>`);
  expect(await o.files()).toEqual([overlay]);
  await o.write(0, 0x22);
  await setCmos(x.qemu(), CMOS_REG, 0xa5);
  return { o, mem, overlay };
}

/** Shut off on the snapshot's state, consistent, nothing left over; and the snapshot still loads. */
async function expectReverted(x: Harness, overlay: string, frozen: string): Promise<void> {
  const o = extOps(x);
  expect(liveQemu(x)).toBeUndefined();
  expect(o.running()).toBe(false);
  expect(await o.state()).toBe(S.VIR_DOMAIN_SHUTOFF);
  expect(await current(x)).toBe('m');
  expect(await o.files()).toEqual([overlay]);
  expect((await chainInfo(overlay)).backing).toBe(frozen);
  expect(await o.has(0, 0x11)).toBe(true);
  expect(await o.has(0, 0x22)).toBe(false);
  await expectSettled(x);
  await o.revert('m');
  expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
  expect(await getCmos(x.qemu(), CMOS_REG)).toBe(0x5a);
  expect(await o.has(0, 0x11)).toBe(true);
}

/** No intent left: a restart has nothing to reconcile. */
async function expectSettled(x: Harness): Promise<void> {
  expect(storedIntent(x.stateDir, x.uuid)).toBeUndefined();
  x.logs.length = 0;
  await x.reopen();
  expect(recovered(x)).toBe('');
}

describe('a revert reusing the current image name, interrupted', () => {
  test('the driver dies while the new QEMU waits for the memory (QEMU left running): reverted, shut off, that QEMU stopped', async () => {
    h = await harness();
    const { overlay } = await atReusedRevert(h);
    const frozen = h.disks[0]!;
    await revertStuckAt(h, 'migrate-incoming');
    h.logs.length = 0;
    await h.crash();
    const log = recovered(h);
    await expectReverted(h, overlay, frozen);
    expect(log).toMatch(/revert to 'm' was not recorded/);
  });

  test('the driver dies after the memory loaded, before the commit (QEMU left paused on it): reverted, shut off, that QEMU stopped', async () => {
    h = await harness();
    const { overlay } = await atReusedRevert(h);
    await revertStuckAt(h, 'cont');
    h.logs.length = 0;
    await h.crash();
    const log = recovered(h);
    await expectReverted(h, overlay, h.disks[0]!);
    expect(log).toMatch(/revert to 'm' was not recorded/);
  });

  test('power loss while the new QEMU waits for the memory (QEMU dies too): reverted, shut off', async () => {
    h = await harness();
    const { overlay } = await atReusedRevert(h);
    await revertStuckAt(h, 'migrate-incoming', true);
    h.logs.length = 0;
    await h.crash();
    const log = recovered(h);
    await expectReverted(h, overlay, h.disks[0]!);
    expect(log).toMatch(/revert to 'm' was not recorded/);
  });

  test('the driver dies before the old QEMU stopped: nothing changed, the guest runs on as before', async () => {
    h = await harness();
    const { o, overlay } = await atReusedRevert(h);
    const pid = h.qemu().pid;
    const reached = hang(h.qemu().qmp, 'quit');
    void o.revert('m').catch(() => undefined);
    await waitFor(reached);
    h.logs.length = 0;
    await h.crash();
    expect(h.logs.join('\n')).not.toMatch(/cannot reconcile/);
    expect(h.qemu().pid).toBe(pid);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await o.files()).toEqual([overlay]);
    expect(await o.has(0, 0x22)).toBe(true);
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0xa5);
    await expectSettled(h);
    expect(h.qemu().pid).toBe(pid);
  });
});

describe('a revert reusing the current image name that cannot be finished at once', () => {
  test('at start-up (the frozen image unreadable): cannot reconcile, the intent kept; finished once the image is back', async () => {
    h = await harness();
    const { overlay } = await atReusedRevert(h);
    const frozen = h.disks[0]!;
    await revertStuckAt(h, 'migrate-incoming', true);
    fs.renameSync(frozen, `${frozen}.away`);
    h.logs.length = 0;
    await h.crash();
    expect(h.logs.join('\n')).toMatch(/cannot reconcile an interrupted external snapshot operation: .*d0\.qcow2/);
    expect(storedIntent(h.stateDir, h.uuid)).toMatch(/"op":"revert"/);
    fs.renameSync(`${frozen}.away`, frozen);
    h.logs.length = 0;
    await h.reopen();
    const log = recovered(h);
    await expectReverted(h, overlay, frozen);
    expect(log).toMatch(/revert to 'm' was not recorded, .*: finished/);
  });

  test('after a failed load (the frozen image gone meanwhile): the error stands, the intent is kept for start-up', async () => {
    h = await harness();
    const { o, overlay } = await atReusedRevert(h);
    const frozen = h.disks[0]!;
    const runtime = h.driver.hooks.runtime;
    const launch = runtime.launch.bind(runtime);
    runtime.launch = async (...args) => {
      const rt = await launch(...args);
      const qmp = rt.proc.qmp as unknown as { execute: Execute };
      const execute = qmp.execute.bind(qmp);
      qmp.execute = (cmd, a) => {
        if (cmd !== 'migrate-incoming') return execute(cmd, a);
        fs.renameSync(frozen, `${frozen}.away`);
        return Promise.reject(new VirError('VIR_ERR_OPERATION_FAILED', 'injected load failure', 'VIR_FROM_QEMU'));
      };
      return rt;
    };
    await expectVirError(o.revert('m'), 'VIR_ERR_OPERATION_FAILED', /injected load failure/);
    expect(h.logs.join('\n')).toMatch(/failed revert not settled \(start-up recovery will\)/);
    expect(storedIntent(h.stateDir, h.uuid)).toMatch(/"op":"revert"/);
    fs.renameSync(`${frozen}.away`, frozen);
    h.logs.length = 0;
    await h.reopen();
    const log = recovered(h);
    await expectReverted(h, overlay, frozen);
    expect(log).toMatch(/revert to 'm' was not recorded, .*: finished/);
  });
});

describe('a revert on a new overlay name, interrupted', () => {
  test('the driver dies while the new QEMU waits for the memory: the domain stays on its images, shut off, as before the revert', async () => {
    h = await harness();
    const { o, overlay } = await atReusedRevert(h);
    // n freezes d0.m: a revert to m now makes d0.m-1, and the domain runs on d0.n.
    await o.create('n');
    const top = path.join(h.dir, 'd0.n');
    await o.write(0, 0x33);
    await revertStuckAt(h, 'migrate-incoming');
    expect(fs.existsSync(`${overlay}-1`)).toBe(true);
    h.logs.length = 0;
    await h.crash();
    const log = recovered(h);
    expect(liveQemu(h)).toBeUndefined();
    expect(await o.state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    expect(await current(h)).toBe('n');
    expect(await o.files()).toEqual([top]);
    expect(fs.existsSync(`${overlay}-1`)).toBe(false);
    expect(await o.has(0, 0x33)).toBe(true);
    expect(log).toMatch(/revert to 'm' was not recorded; the domain stays on its images, shut off \(removed: .*d0\.m-1\)/);
    await expectSettled(h);
  });
});

describe('an older version\'s intent', () => {
  test('a revert intent of an older version (no QEMU recorded) is still judged by the file names', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('s1');
    await o.revert('s1');
    const overlay = path.join(h.dir, 'd0.s1');
    const stray = path.join(h.dir, 'd0.s1-9');
    const intent = (ov: string) => JSON.stringify({ op: 'revert', snapshot: 's1', overlays: [{ target: 'vda', frozen: h!.disks[0], overlay: ov }] });
    // Its definition names the overlays: committed, nothing to do.
    await writeIntent(h, intent(overlay));
    expect(recovered(h)).toBe('');
    expect(await o.files()).toEqual([overlay]);
    // It does not: undone by removing the overlay.
    await createOverlay(stray, h.disks[0]!);
    await writeIntent(h, intent(stray));
    expect(recovered(h)).toMatch(/revert to 's1' was not recorded; the domain stays on its images \(removed: .*d0\.s1-9\)/);
    expect(fs.existsSync(stray)).toBe(false);
    expect(await o.files()).toEqual([overlay]);
    await expectSettled(h);
  });
});

/** Put `intent` in the closed domain's store as an older version would have left it, and start again. */
async function writeIntent(x: Harness, intent: string): Promise<void> {
  await x.driver.close();
  const store = new DomainStore(path.join(x.stateDir, 'qemu', 'session', 'domains'));
  await store.load();
  await store.commit(x.uuid, [{ file: 'intent.json', content: intent }]);
  await store.flush();
  x.logs.length = 0;
  await x.crash();
}

describe('virtsnapd --check after a power loss in a revert reusing the current image name', () => {
  test('reported with the revert finished; --reconcile does it offline, and the daemon agrees', async () => {
    h = await harness();
    const { overlay } = await atReusedRevert(h);
    await revertStuckAt(h, 'cont', true);
    await waitFor(() => liveQemu(h!) === undefined);
    const inspect = async (reconcile: boolean) => (await qemuDriverFactory.inspect!(h!.stateDir, { reconcile }))[0]!.report;
    const described = await inspect(false);
    expect(described.problems).toEqual([`domain 'vm1': interrupted external snapshot revert to snapshot 'm' (new overlays: ${overlay} on ${h.disks[0]}); `
      + `reconciliation (virtsnapd start-up, or --check --reconcile) would: make ${overlay} a new empty overlay on ${h.disks[0]}; `
      + `metadata of 'vm1' committed (definition only)`]);
    const done = await inspect(true);
    expect(done.problems).toEqual([]);
    expect(done.repaired.join('\n')).toMatch(/revert to 'm' was not recorded, .*: finished, the domain shut off on fresh overlays/);
    expect(storedIntent(h.stateDir, h.uuid)).toBeUndefined();
    h.logs.length = 0;
    await h.crash();
    expect(recovered(h)).toBe('');
    await expectReverted(h, overlay, h.disks[0]!);
  });
});

describe('a revert reusing the current image name, failing', () => {
  test('QEMU refuses the memory stream: the domain is left shut off on the snapshot\'s disk state, never on a removed image', async () => {
    h = await harness();
    const { o, mem, overlay } = await atReusedRevert(h);
    const good = fs.readFileSync(mem);
    const bad = Buffer.from(good);
    bad.fill(0, 4096, 4096 + 64); // complete by its header, garbage for QEMU
    fs.writeFileSync(mem, bad);
    await expectVirError(o.revert('m'), 'VIR_ERR_OPERATION_FAILED', /loading the memory from '.*m\.mem' failed/);
    fs.writeFileSync(mem, good);
    expect(fs.existsSync(overlay)).toBe(true);
    await expectReverted(h, overlay, h.disks[0]!);
  });
});
