/**
 * Starting, reattaching to and stopping a qemu-system-x86_64 process.
 *
 * QEMU is spawned detached (own session, stdio to a log file, unref'd) rather
 * than with -daemonize: it still outlives the daemon, but its stdout stays in
 * the log (HMP `qemu-io` prints there) and an early exit is observed directly
 * with its exit code and log text. The QMP socket plus the pidfile are all a
 * restarted daemon needs to find it again (see QemuProcess.reattach).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import { optValue } from './domain/argv.js';
import { QmpClient } from './qmp-client.js';

export const QEMU_SYSTEM = process.env.VIRTSNAP_QEMU_SYSTEM ?? 'qemu-system-x86_64';

export interface QemuDiskConfig {
  /** Block node name of the qcow2 layer; the file layer is `<nodeName>-file`. */
  nodeName: string;
  file: string;
  /** Used as the device id (e.g. "vda"). */
  targetDev: string;
  readOnly?: boolean;
  /** Default qcow2. */
  format?: 'qcow2' | 'raw';
  /** A file (default) or a host block device. */
  source?: 'file' | 'block';
  device?: 'disk' | 'cdrom';
  /** Default virtio. */
  bus?: 'virtio' | 'scsi' | 'sata';
  cache?: 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';
  discard?: 'unmap' | 'ignore';
  io?: 'threads' | 'native' | 'io_uring';
  bootIndex?: number;
  /** scsi: controller index; sata: AHCI port. */
  controller?: number;
  unit?: number;
  /** i440fx has no AHCI of its own: SATA disks need one added. */
  pcMachine?: boolean;
}

export interface QemuConfig {
  name: string;
  uuid: string;
  memoryMiB: number;
  vcpus: number;
  /** 'tcg' is the default on purpose: nested KVM on CI hosts reports enabled but hangs guests. */
  accel: 'tcg' | 'kvm';
  disks: QemuDiskConfig[];
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  serialLog?: string;
  qmpSocket: string;
  /** Start with the vCPUs stopped (-S). */
  paused?: boolean;
  /** Defaults to `<qmpSocket dir>/<name>.pid`. */
  pidfile?: string;
  /** QEMU's stdout/stderr; defaults to `<qmpSocket dir>/<name>.log`. */
  logFile?: string;
  /** Passed as -machine type; default q35. */
  machine?: string;
  /** More -machine properties (acpi=off, pflash0=...). */
  machineOpts?: string[];
  topology?: { sockets: number; cores: number; threads: number };
  /** Arguments for the non-disk devices (drivers/qemu/domain/argv.ts). */
  extraArgs?: string[];
}

export interface QemuStatus {
  status: string;
  running: boolean;
}

/** QEMU ids and node names: a letter, then letters, digits, '-', '.', '_'. Node names max 31 chars. */
const QEMU_ID_RE = /^[A-Za-z][A-Za-z0-9._-]{0,30}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


function invalid(detail: string): VirError {
  return new VirError('VIR_ERR_CONFIG_UNSUPPORTED', detail, 'VIR_FROM_QEMU');
}

export function pidfileFor(config: QemuConfig): string {
  return config.pidfile ?? path.join(path.dirname(config.qmpSocket), `${config.name}.pid`);
}

export function logFileFor(config: QemuConfig): string {
  return config.logFile ?? path.join(path.dirname(config.qmpSocket), `${config.name}.log`);
}

/** The argument vector (without the binary) for `config`. Validates what QEMU would misparse. */
export function buildQemuArgs(config: QemuConfig): string[] {
  if (!config.name || /[\0\n]/.test(config.name)) throw invalid(`invalid domain name '${config.name}'`);
  if (!UUID_RE.test(config.uuid)) throw invalid(`invalid UUID '${config.uuid}'`);
  if (!Number.isInteger(config.memoryMiB) || config.memoryMiB < 16) throw invalid(`invalid memory size ${config.memoryMiB} MiB`);
  if (!Number.isInteger(config.vcpus) || config.vcpus < 1) throw invalid(`invalid vCPU count ${config.vcpus}`);
  if (config.accel !== 'tcg' && config.accel !== 'kvm') throw invalid(`invalid accelerator '${String(config.accel)}'`);
  const seen = new Set<string>();
  for (const d of config.disks) {
    for (const id of [d.nodeName, `${d.nodeName}-file`, d.targetDev]) {
      if (!QEMU_ID_RE.test(id)) throw invalid(`'${id}' is not a valid QEMU node name or device id`);
      if (seen.has(id)) throw invalid(`duplicate QEMU node name or device id '${id}'`);
      seen.add(id);
    }
  }

  const args = [
    '-name', `guest=${optValue(config.name)}`,
    '-uuid', config.uuid,
    '-machine', [config.machine ?? 'q35', `accel=${config.accel}`, ...(config.machineOpts ?? [])].join(','),
    '-m', String(config.memoryMiB),
    '-smp', config.topology
      ? `${config.vcpus},sockets=${config.topology.sockets},cores=${config.topology.cores},threads=${config.topology.threads}`
      : String(config.vcpus),
    '-display', 'none',
    '-nodefaults',
    '-no-user-config',
    '-chardev', `socket,id=charmonitor,path=${optValue(path.resolve(config.qmpSocket))},server=on,wait=off`,
    '-mon', 'chardev=charmonitor,id=monitor,mode=control',
    '-pidfile', path.resolve(pidfileFor(config)),
  ];
  if (config.paused) args.push('-S');
  if (config.kernel) args.push('-kernel', path.resolve(config.kernel));
  if (config.initrd) args.push('-initrd', path.resolve(config.initrd));
  if (config.cmdline !== undefined) args.push('-append', config.cmdline);
  args.push(...diskArgs(config.disks));
  if (config.serialLog) {
    args.push('-chardev', `file,id=charserial0,path=${optValue(path.resolve(config.serialLog))}`,
      '-serial', 'chardev:charserial0');
  }
  args.push(...(config.extraArgs ?? []));
  return args;
}

/** libvirt's mapping of cache modes onto QEMU's direct / no-flush / write-cache. */
const CACHE = {
  none: { direct: true, noFlush: false, writeCache: true },
  writeback: { direct: false, noFlush: false, writeCache: true },
  writethrough: { direct: false, noFlush: false, writeCache: false },
  directsync: { direct: true, noFlush: false, writeCache: false },
  unsafe: { direct: false, noFlush: true, writeCache: true },
} as const;

/** The options of a disk's block nodes that every layer of it carries (blockdev-add of an overlay too, as libvirt sets them). */
export interface LayerOptions {
  /** Of the protocol (file) node. */
  protocol: Record<string, unknown>;
  /** Of the format node. */
  format: Record<string, unknown>;
}

export function layerOptions(d: Pick<QemuDiskConfig, 'readOnly' | 'cache' | 'discard' | 'io'>): LayerOptions {
  const ro = d.readOnly ?? false;
  const cache = d.cache ? CACHE[d.cache] : undefined;
  const cacheOpts = cache ? { cache: { direct: cache.direct, 'no-flush': cache.noFlush } } : {};
  return {
    protocol: { 'read-only': ro, discard: d.discard ?? 'unmap', ...cacheOpts, ...(d.io ? { aio: d.io } : {}) },
    format: { 'read-only': ro, discard: d.discard ?? 'unmap', ...cacheOpts },
  };
}

/** Two block nodes per disk (protocol, then format) and the guest device on its bus. */
function diskArgs(disks: QemuDiskConfig[]): string[] {
  const args: string[] = [];
  if (disks.some((d) => d.bus === 'sata' && d.pcMachine)) args.push('-device', JSON.stringify({ driver: 'ahci', id: 'sata0' }));
  for (const d of disks) {
    const cache = d.cache ? CACHE[d.cache] : undefined;
    const layer = layerOptions(d);
    // JSON syntax: no comma escaping to get wrong in file names.
    args.push('-blockdev', JSON.stringify({
      driver: d.source === 'block' ? 'host_device' : 'file', filename: path.resolve(d.file), 'node-name': `${d.nodeName}-file`, ...layer.protocol,
    }));
    args.push('-blockdev', JSON.stringify({ driver: d.format ?? 'qcow2', file: `${d.nodeName}-file`, 'node-name': d.nodeName, ...layer.format }));
    const cd = d.device === 'cdrom';
    const dev: Record<string, unknown> = { drive: d.nodeName, id: d.targetDev };
    if (d.bus === 'sata') {
      Object.assign(dev, { driver: cd ? 'ide-cd' : 'ide-hd', bus: `${d.pcMachine ? 'sata0' : 'ide'}.${d.controller ?? 0}` });
    } else if (d.bus === 'scsi') {
      Object.assign(dev, { driver: cd ? 'scsi-cd' : 'scsi-hd', bus: `scsi${d.controller ?? 0}.0`, channel: 0, 'scsi-id': d.unit ?? 0, lun: 0 });
    } else {
      dev.driver = 'virtio-blk-pci';
    }
    if (cache && !cd) dev['write-cache'] = cache.writeCache ? 'on' : 'off';
    if (d.bootIndex !== undefined) dev.bootindex = d.bootIndex;
    args.push('-device', JSON.stringify(dev));
  }
  return args;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie child we have not reaped yet is as good as dead.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return true;
  }
}

/**
 * When process `pid` started (/proc/<pid>/stat field 22, clock ticks since
 * boot); undefined when there is no such process or it is a zombie. With the
 * pid it names one process for good: a recycled pid starts later.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return fields[0] === 'Z' || !Number.isInteger(start) ? undefined : start;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in ns (USER_HZ is 100 on Linux). */
export function qemuCpuTimeNs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000_000;
  } catch {
    return 0;
  }
}

function readTail(file: string, max = 4096): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(Math.max(0, buf.length - max)).toString('utf8').trim();
  } catch {
    return '';
  }
}

export class QemuProcess {
  private exited = false;

  private constructor(
    readonly pid: number,
    readonly qmp: QmpClient,
    readonly qmpSocket: string,
    readonly pidfile: string,
    readonly logFile: string | undefined,
  ) {}

  /**
   * Spawn QEMU for `config` and connect to its monitor. If QEMU exits during
   * start-up, its exit status and log are reported instead of a connect timeout.
   */
  static async start(config: QemuConfig, opts: { timeoutMs?: number; binary?: string } = {}): Promise<QemuProcess> {
    const args = buildQemuArgs(config);
    const logFile = logFileFor(config);
    const pidfile = pidfileFor(config);
    for (const f of [config.qmpSocket, pidfile]) fs.rmSync(f, { force: true });
    const logFd = fs.openSync(logFile, 'a');
    let child;
    try {
      child = spawn(opts.binary ?? QEMU_SYSTEM, args, { detached: true, stdio: ['ignore', logFd, logFd] });
    } finally {
      fs.closeSync(logFd);
    }
    const abort = new AbortController();
    let exitInfo: string | undefined;
    let spawnError: Error | undefined;
    child.once('error', (e) => { spawnError = e; abort.abort(e.message); });
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      exitInfo = signal ? `killed by ${signal}` : `exit status ${code}`;
      abort.abort(exitInfo);
      resolve();
    }));
    child.unref();

    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(config.qmpSocket, { timeoutMs: opts.timeoutMs ?? 15_000, signal: abort.signal });
    } catch (err) {
      if (spawnError) {
        const enoent = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
        throw new VirError('VIR_ERR_OPERATION_FAILED', enoent
          ? `cannot run '${opts.binary ?? QEMU_SYSTEM}': not installed or not in PATH`
          : `cannot start QEMU: ${spawnError.message}`, 'VIR_FROM_QEMU');
      }
      // QEMU may close the monitor (it has already bound it) a moment before its exit is
      // reported, and on a loaded machine that moment can be long: wait for the exit
      // itself (bounded), so the error names the status; a QEMU still running is killed.
      const within = (ms: number) => Promise.race([exited, sleep(ms)]);
      await within(2_000);
      if (exitInfo === undefined && child.pid) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
        await within(5_000);
      }
      const log = readTail(logFile);
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `QEMU for '${config.name}' failed to start${exitInfo ? ` (${exitInfo})` : ''}: ${log || (err as Error).message}`,
        'VIR_FROM_QEMU');
    }
    const proc = new QemuProcess(child.pid!, qmp, config.qmpSocket, pidfile, logFile);
    child.once('exit', () => { proc.exited = true; });
    return proc;
  }

  /**
   * Find a QEMU started by an earlier daemon: read its pidfile, check the
   * process is alive and is QEMU, and connect to its monitor.
   */
  static async reattach(qmpSocket: string, pidfile: string, opts: { timeoutMs?: number; logFile?: string } = {}): Promise<QemuProcess> {
    let pid: number;
    try {
      pid = Number.parseInt(fs.readFileSync(pidfile, 'utf8').trim(), 10);
    } catch (e) {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot read QEMU pidfile '${pidfile}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
    }
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU process from pidfile '${pidfile}' is not running`, 'VIR_FROM_QEMU');
    }
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(path.resolve(qmpSocket))) {
        throw new VirError('VIR_ERR_OPERATION_FAILED',
          `process ${pid} from pidfile '${pidfile}' is not the QEMU serving '${qmpSocket}' (pid reused?)`, 'VIR_FROM_QEMU');
      }
    } catch (e) {
      if (e instanceof VirError) throw e;
      // No /proc (not Linux): rely on the monitor connection alone.
    }
    const qmp = await QmpClient.connect(qmpSocket, { timeoutMs: opts.timeoutMs ?? 5_000 });
    return new QemuProcess(pid, qmp, qmpSocket, pidfile, opts.logFile);
  }

  get alive(): boolean {
    return !this.exited && isAlive(this.pid);
  }

  async queryStatus(): Promise<QemuStatus> {
    const r = await this.qmp.execute<{ status: string; running: boolean }>('query-status');
    return { status: r.status, running: r.running };
  }

  async stop(): Promise<void> {
    await this.qmp.execute('stop');
  }

  async cont(): Promise<void> {
    await this.qmp.execute('cont');
  }

  /** ACPI power button; the guest decides whether and when to shut down. */
  async systemPowerdown(): Promise<void> {
    await this.qmp.execute('system_powerdown');
  }

  /** `quit`, then wait for the process to go away; SIGKILL if it does not. */
  async quit(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.qmp.closed) {
      if (this.alive) await this.kill();
      return;
    }
    try {
      await this.qmp.execute('quit');
    } catch {
      // QEMU may close the socket before the reply arrives; that is success too.
    }
    if (!(await this.waitForExit(opts.timeoutMs ?? 5_000))) await this.kill();
    this.qmp.close();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    try {
      process.kill(this.pid, signal);
    } catch { /* already gone */ }
    await this.waitForExit(5_000);
    this.qmp.close();
  }

  /** Polls, because a reattached QEMU is not our child and cannot be waited for. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.alive) {
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
    return true;
  }
}
