import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { VirError } from '../../protocol/errors.js';
import { QmpClient, QmpCommandError, QmpJobError, type QmpEvent } from '../../drivers/qemu/qmp-client.js';
import { QemuProcess, buildQemuArgs } from '../../drivers/qemu/qemu-process.js';
import { makeDisk, makeTempDir, rejectionOf, requireQemu, rmrf, startVm, type TestVm } from './helpers.js';

beforeAll(requireQemu);

let dir: string;
let vms: TestVm[] = [];
afterEach(async () => {
  for (const vm of vms) if (vm.proc.alive) await vm.proc.kill();
  vms = [];
  if (dir) rmrf(dir);
});

async function vm(extra = {}): Promise<TestVm> {
  dir = makeTempDir();
  const disk = await makeDisk(dir);
  const v = await startVm(dir, [{ file: disk, node: 'disk0', dev: 'vda' }], extra);
  vms.push(v);
  return v;
}

describe('QemuProcess', () => {
  test('starts detached in its own session, writes a pidfile, and can be reattached', async () => {
    const v = await vm();
    expect((await v.proc.queryStatus()).status).toBe('running');
    expect(Number(fs.readFileSync(v.proc.pidfile, 'utf8'))).toBe(v.proc.pid);
    // Field 6 of /proc/PID/stat is the session id: QEMU must not share ours,
    // so a dying daemon's terminal or process group does not take it along.
    const sid = (pid: number | string) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[3];
    expect(sid(v.proc.pid)).not.toBe(sid('self'));

    v.proc.qmp.close(); // what a daemon restart looks like from QEMU's side
    const again = await QemuProcess.reattach(v.config.qmpSocket, v.proc.pidfile);
    vms.push({ proc: again, config: v.config });
    expect(again.pid).toBe(v.proc.pid);
    expect((await again.queryStatus()).status).toBe('running');
    await again.quit();
    expect(again.alive).toBe(false);
  });

  test('reattach refuses a dead pidfile', async () => {
    const v = await vm();
    await v.proc.quit();
    await expect(QemuProcess.reattach(v.config.qmpSocket, v.proc.pidfile)).rejects.toThrow(/not running|cannot read/);
  });

  test('paused start, stop/cont, and STOP/RESUME events', async () => {
    const v = await vm({ paused: true });
    expect(await v.proc.queryStatus()).toEqual({ status: 'prelaunch', running: false });
    const events: string[] = [];
    v.proc.qmp.on('event', (e: QmpEvent) => events.push(e.event));
    await v.proc.cont();
    expect((await v.proc.queryStatus()).running).toBe(true);
    await v.proc.stop();
    expect(await v.proc.queryStatus()).toEqual({ status: 'paused', running: false });
    await v.proc.cont();
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['RESUME', 'STOP', 'RESUME']);
  });

  test('file names with commas, spaces and quotes reach QEMU intact', async () => {
    dir = makeTempDir();
    const sub = path.join(dir, `we,ird "dir" 'x'`);
    fs.mkdirSync(sub);
    const disk = await makeDisk(sub, 'a,b c.qcow2');
    const v = await startVm(sub, [{ file: disk, node: 'disk0', dev: 'vda' }], { serialLog: path.join(sub, 's,1.log') });
    vms.push(v);
    const nodes = await v.proc.qmp.execute<Array<{ 'node-name': string; file: string }>>('query-named-block-nodes');
    expect(nodes.find((n) => n['node-name'] === 'disk0')?.file).toBe(disk);
    expect(fs.existsSync(path.join(sub, 's,1.log'))).toBe(true);
  });

  test('a QEMU that fails to start reports its own error', async () => {
    dir = makeTempDir();
    await expect(startVm(dir, [{ file: path.join(dir, 'missing.qcow2'), node: 'disk0', dev: 'vda' }]))
      .rejects.toThrow(/failed to start \(exit status 1\).*missing\.qcow2/s);
  });

  test('a missing binary is reported as such', async () => {
    dir = makeTempDir();
    const disk = await makeDisk(dir);
    await expect(QemuProcess.start({
      name: 'x', uuid: '00000000-0000-0000-0000-000000000001', memoryMiB: 64, vcpus: 1, accel: 'tcg',
      disks: [{ nodeName: 'disk0', file: disk, targetDev: 'vda' }], qmpSocket: path.join(dir, 'q.sock'),
    }, { binary: 'no-such-qemu-binary' })).rejects.toThrow(/not installed/);
  });

  test('buildQemuArgs validates node names and defaults to q35 + TCG', () => {
    const base = {
      name: 'x', uuid: '00000000-0000-0000-0000-000000000001', memoryMiB: 64, vcpus: 1, accel: 'tcg' as const,
      disks: [{ nodeName: 'disk0', file: '/x.qcow2', targetDev: 'vda' }], qmpSocket: '/tmp/q.sock',
    };
    const args = buildQemuArgs(base);
    expect(args).toContain('q35,accel=tcg');
    expect(args).not.toContain('-S');
    expect(buildQemuArgs({ ...base, paused: true })).toContain('-S');
    expect(() => buildQemuArgs({ ...base, disks: [{ nodeName: 'bad name', file: '/x', targetDev: 'vda' }] }))
      .toThrow(VirError);
    expect(() => buildQemuArgs({ ...base, disks: [base.disks[0], { ...base.disks[0], targetDev: 'vdb' }] }))
      .toThrow(/duplicate/);
  });
});

describe('QmpClient', () => {
  test('gives up connecting at the deadline with a clear error', async () => {
    dir = makeTempDir();
    const t0 = Date.now();
    await expect(QmpClient.connect(path.join(dir, 'nobody.sock'), { timeoutMs: 200 }))
      .rejects.toMatchObject({ errName: 'VIR_ERR_OPERATION_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test('command errors carry the QMP class; HMP error strings become errors', async () => {
    const v = await vm();
    expect(v.proc.qmp.version?.qemu.major).toBeGreaterThanOrEqual(6);
    const err = await rejectionOf<QmpCommandError>(v.proc.qmp.execute('no-such-command'));
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err.qmpClass).toBe('CommandNotFound');
    await expect(v.proc.qmp.hmp('loadvm nope')).rejects.toThrow(/does not exist/);
    await expect(v.proc.qmp.hmp('bogus-command')).rejects.toThrow(/unknown command/);
    await expect(v.proc.qmp.hmp('savevm with space')).rejects.toThrow(/extraneous characters/);
    // Even the HMP loadvm failure leaves the VM stopped; the error string was the only sign.
    expect(await v.proc.qmp.hmp('info status')).toMatch(/paused \(restore-vm\)/);
  });

  test('runJob reports a job that QEMU accepted but that failed, and dismisses it', async () => {
    const v = await vm();
    const err = await rejectionOf<QmpJobError>(v.proc.qmp.runJob('snapshot-load', { tag: 'nope', vmstate: 'disk0', devices: ['disk0'] }, 'j1')
      );
    expect(err).toBeInstanceOf(QmpJobError);
    expect(err.message).toMatch(/Snapshot 'nope' does not exist/);
    expect(await v.proc.qmp.execute('query-jobs')).toEqual([]);
    // The raw QEMU trap this layer must hide: a failed load leaves the VM stopped.
    expect((await v.proc.queryStatus()).status).toBe('restore-vm');
    // The same job id is free again.
    await v.proc.qmp.runJob('snapshot-save', { tag: 's', vmstate: 'disk0', devices: ['disk0'] }, 'j1');
    // Jobs clean up after themselves: no listeners accumulate.
    expect(v.proc.qmp.listenerCount('close')).toBe(0);
    expect(v.proc.qmp.listenerCount('event')).toBe(0);
  });

  test('QEMU dying mid-job rejects every pending command', async () => {
    const v = await vm();
    const closed = v.proc.qmp.waitClosed();
    const job = v.proc.qmp.runJob('snapshot-save', { tag: 's1', vmstate: 'disk0', devices: ['disk0'] }, 'jk');
    const status = v.proc.qmp.execute('query-status').catch((e: Error) => e);
    process.kill(v.proc.pid, 'SIGKILL');
    await expect(job).rejects.toThrow(/End of file from qemu monitor/);
    expect(String(await status)).toMatch(/End of file from qemu monitor.*query-status/);
    expect((await closed).errName).toBe('VIR_ERR_OPERATION_FAILED');
    await expect(v.proc.qmp.execute('query-status')).rejects.toThrow(/cannot send 'query-status'/);
    expect(await v.proc.waitForExit(2000)).toBe(true);
  });
});
