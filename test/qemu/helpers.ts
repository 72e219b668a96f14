/** Shared fixtures for the real-QEMU tests: temp dirs, VMs, pattern and CMOS probes. */
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { qemuImgCreate } from '../../drivers/qemu/qemu-img.js';
import { QemuProcess, type QemuConfig } from '../../drivers/qemu/qemu-process.js';

/**
 * CI installs QEMU; a missing binary must fail loudly instead of skipping
 * everything and looking green.
 */
export function requireQemu(): void {
  for (const bin of ['qemu-system-x86_64', 'qemu-img', 'qemu-io']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${bin} is not installed: these tests need real QEMU ` +
        '(apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils)');
    }
  }
}

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'virtsnap-qemu-'));
}

export async function makeDisk(dir: string, name = 'd.qcow2', size = '64M'): Promise<string> {
  const file = path.join(dir, name);
  await qemuImgCreate(file, size);
  return file;
}

/** Run qemu-io on an image that no VM holds; resolves with exit code and output. */
export function qemuIo(file: string, command: string, opts: { readOnly?: boolean } = {}):
  Promise<{ code: number; out: string }> {
  const args = opts.readOnly ? ['-r'] : [];
  args.push('-f', 'qcow2', '-c', command, file);
  return new Promise((resolve) => {
    execFile('qemu-io', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

export async function writePattern(file: string, pattern: number, len = '1M'): Promise<void> {
  const r = await qemuIo(file, `write -P 0x${pattern.toString(16)} 0 ${len}`);
  if (r.code !== 0) throw new Error(`qemu-io write failed: ${r.out}`);
}

/** True when the first `len` of the image hold `pattern` (qemu-io exits 1 on "Pattern verification failed"). */
export async function hasPattern(file: string, pattern: number, len = '1M'): Promise<boolean> {
  const r = await qemuIo(file, `read -P 0x${pattern.toString(16)} 0 ${len}`, { readOnly: true });
  if (r.code !== 0 && !/Pattern verification failed/.test(r.out)) throw new Error(`qemu-io read failed: ${r.out}`);
  return r.code === 0;
}

export interface TestVm {
  proc: QemuProcess;
  config: QemuConfig;
}

export async function startVm(dir: string, disks: Array<{ file: string; node: string; dev: string }>,
  extra: Partial<QemuConfig> = {}): Promise<TestVm> {
  const config: QemuConfig = {
    name: 'vm', uuid: randomUUID(), memoryMiB: 64, vcpus: 1, accel: 'tcg',
    disks: disks.map((d) => ({ nodeName: d.node, file: d.file, targetDev: d.dev })),
    qmpSocket: path.join(dir, 'qmp.sock'),
    ...extra,
  };
  const proc = await QemuProcess.start(config);
  return { proc, config };
}

/** CMOS NVRAM byte through the I/O ports, with the vCPU stopped so the firmware cannot race us. */
export async function setCmos(proc: QemuProcess, reg: number, value: number): Promise<void> {
  const { running } = await proc.queryStatus();
  if (running) await proc.stop();
  await proc.qmp.hmp(`o /b 0x70 0x${reg.toString(16)}`);
  await proc.qmp.hmp(`o /b 0x71 0x${value.toString(16)}`);
  if (running) await proc.cont();
}

export async function getCmos(proc: QemuProcess, reg: number): Promise<number> {
  const { running } = await proc.queryStatus();
  if (running) await proc.stop();
  await proc.qmp.hmp(`o /b 0x70 0x${reg.toString(16)}`);
  const out = await proc.qmp.hmp('i /b 0x71');
  if (running) await proc.cont();
  const m = /= 0x([0-9a-f]+)/i.exec(out);
  if (!m) throw new Error(`unexpected 'i' output: ${JSON.stringify(out)}`);
  return Number.parseInt(m[1], 16);
}

/** Write a pattern through the running QEMU (the image is locked for other processes). */
export async function liveWritePattern(proc: QemuProcess, dev: string, pattern: number): Promise<void> {
  await proc.qmp.hmp(`qemu-io -d ${dev}/virtio-backend "write -P 0x${pattern.toString(16)} 0 1M"`);
}

export function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Check a pattern through the running QEMU's HMP `qemu-io`, whose output goes
 * to QEMU's stdout/stderr, i.e. the VM's log file.
 */
export async function liveHasPattern(vm: TestVm, dev: string, pattern: number): Promise<boolean> {
  const log = vm.proc.logFile!;
  const start = fs.statSync(log).size;
  await vm.proc.qmp.hmp(`qemu-io -d ${dev}/virtio-backend "read -P 0x${pattern.toString(16)} 0 1M"`);
  for (let i = 0; i < 100; i++) {
    const text = fs.readFileSync(log).subarray(start).toString('utf8');
    if (/Pattern verification failed/.test(text)) return false;
    if (/read 1048576\/1048576 bytes/.test(text)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no qemu-io output in the QEMU log');
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejectionOf<E extends Error = Error>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    return e as E;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/** Let a process stopped with SIGSTOP by a test run again (after the test; a process gone meanwhile is fine). */
export function resumeStopped(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGCONT');
  } catch { /* gone */ }
}
