/**
 * A QEMU that does not answer QMP when the daemon restarts (here: stopped
 * with SIGSTOP) is still running the guest and holding its disks: the domain
 * stays active, is reattached once the monitor answers, and destroy kills it
 * by its pid. Never lose track of a live QEMU.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DomainState as S } from '../../protocol/flags.js';
import { isAlive } from '../../drivers/qemu/qemu-process.js';
import { expectVirError } from '../helpers/expect-error.js';
import { harness, waitFor, type Harness } from './driver-helpers.js';
import { requireQemu, resumeStopped } from './helpers.js';

requireQemu();

let h: Harness | undefined;
let stopped: number | undefined;

afterEach(async () => {
  resumeStopped(stopped);
  stopped = undefined;
  await h?.cleanup();
  h = undefined;
});

/** A running domain whose QEMU is stopped (SIGSTOP) across a daemon restart: its monitor cannot answer. */
async function restartWithStoppedQemu() {
  const x = await harness();
  h = x;
  await x.driver.virDomainCreate({ domain: x.uuid }, x.ctx);
  const pid = x.qemu().pid;
  await x.driver.close();
  process.kill(pid, 'SIGSTOP');
  stopped = pid;
  return { pid, d: await x.reopen(), h: x };
}

const state = async (x: Harness) => (await x.driver.virDomainGetState({ domain: x.uuid, flags: 0 }, x.ctx)).state;

describe('qemu driver: a QEMU not answering QMP at daemon restart', () => {
  test('stays running, is not startable again, and destroy kills it by pidfile', async () => {
    const { pid, d, h } = await restartWithStoppedQemu();
    expect(await state(h)).toBe(S.VIR_DOMAIN_RUNNING);
    expect(h.logs.join('\n')).toMatch(new RegExp(`QEMU pid ${pid} is running but its monitor did not answer`));
    await expectVirError(d.virDomainCreate({ domain: h.uuid }, h.ctx), 'VIR_ERR_OPERATION_INVALID', /already running/);
    await expectVirError(d.virDomainSuspend({ domain: h.uuid }, h.ctx), 'VIR_ERR_OPERATION_FAILED',
      new RegExp(`\\(pid ${pid}\\) is running but not answering its monitor`));
    await d.virDomainDestroy({ domain: h.uuid }, h.ctx);
    expect(isAlive(pid)).toBe(false);
    stopped = undefined;
    expect(await state(h)).toBe(S.VIR_DOMAIN_SHUTOFF);
    // The disk lock went with it: the domain starts again.
    await d.virDomainCreate({ domain: h.uuid }, h.ctx);
    expect(await state(h)).toBe(S.VIR_DOMAIN_RUNNING);
  }, 60_000);

  test('is reattached by the background retry once its monitor answers', async () => {
    const { pid, d, h } = await restartWithStoppedQemu();
    expect(d.monitorOf(h.uuid)).toBeUndefined();
    process.kill(pid, 'SIGCONT');
    stopped = undefined;
    await waitFor(() => d.monitorOf(h!.uuid) !== undefined, 30_000);
    expect(d.monitorOf(h.uuid)!.pid).toBe(pid);
    await d.virDomainSuspend({ domain: h.uuid }, h.ctx);
    expect(await state(h)).toBe(S.VIR_DOMAIN_PAUSED);
  }, 60_000);
});
