/**
 * The qemu driver's runtime: one QEMU process per running domain, driven over
 * QMP, with the domain's state following QMP events (STOP, RESUME, SHUTDOWN,
 * and the monitor closing when QEMU exits); start/stop/suspend/resume; and
 * reattaching to QEMU processes that outlived a daemon restart.
 */
import { VirError } from '../../protocol/errors.js';
import { DomainEvent, DomainState, StateReason } from '../../protocol/flags.js';
import { isActive, type DomainObj } from '../common/domain-obj.js';
import type { DriverParts } from '../common/driver-parts.js';
import { formatDomainXml, parseDomainXml, type DomainDef } from '../common/xml/domain-xml.js';
import { prepareNvram } from './domain/firmware.js';
import { ptyPaths, withPtyPaths } from './domain/live-xml.js';
import { qemuConfigFor, qemuDomainSpec, type QemuDomainSpec } from './qemu-domain-spec.js';
import { askGuest, finishFakeReboot } from './qemu-power.js';
import { QemuProcess, qemuCpuTimeNs } from './qemu-process.js';
import { killQemu, liveQemuPid, REATTACH_RETRY_MS, type UnreachableQemu } from './unreachable-qemu.js';
import type { QmpEvent } from './qmp-client.js';
import { refreshFromQemu, type DiskRefresh } from './reattach-disks.js';
import { clearRuntime, domainRunFiles, prepareRunDir, readRuntime, writeRuntime, type DomainRunFiles } from './run-dir.js';

export const ERR = 'VIR_FROM_QEMU' as const;

/** libvirt reasons and event details this driver uses beyond the shared table. */
export const SHUTOFF_CRASHED = 3;
const PAUSED_IOERROR = 2;
const STOPPED_FAILED = 2;
const RESUMED_UNPAUSED = DomainEvent.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED;

/** One running QEMU of a domain. */
export interface DomainRuntime {
  proc: QemuProcess;
  /** The hardware this process was started with (what a snapshot must match to load in place). */
  spec: QemuDomainSpec;
  files: DomainRunFiles;
  /** Driver operations in flight: the STOP/RESUME events they cause are not state changes of their own. */
  busy: number;
  /** We asked QEMU to exit (destroy, revert, HALT), or the daemon is closing: its exit is not news. */
  stopping: boolean;
  /** QEMU reported SHUTDOWN: the guest (or the power button) turned it off. */
  shutdown: boolean;
  /** The live definition; the persistent one (dom.def) may have been redefined since. */
  liveDef: DomainDef;
  /** When the runtime record says this QEMU started (kept by rewrites of the record). */
  startedAt: number;
  /** An ACPI reboot is under way: the guest's power-off becomes a reset (libvirt's fake reboot). */
  fakeReboot?: boolean;
}

export class QemuRuntime {
  private readonly runtimes = new Map<string, DomainRuntime>();
  /** Live QEMUs that did not answer QMP at start-up: still active, retried, killed by pid on destroy. */
  private readonly unreachable = new Map<string, UnreachableQemu>();
  private closing = false;

  constructor(private readonly parts: DriverParts, private readonly runRoot: string) {}

  /** The running QEMU of a domain, if any. */
  get(uuid: string): DomainRuntime | undefined {
    return this.runtimes.get(uuid);
  }

  /**
   * QEMU keeps running without us; a restarted daemon reattaches. A clean stop
   * first writes each runtime record as it now is: snapshot operations move
   * disks in memory only (ExternalHost.followDisks), so the record names the
   * disks QEMU started with until then. `abandon`: stop as a killed daemon
   * stops, writing nothing (reattach then takes the disks from QEMU).
   */
  async close(opts: { abandon?: boolean } = {}): Promise<void> {
    this.closing = true;
    for (const u of this.unreachable.values()) clearTimeout(u.timer);
    this.unreachable.clear();
    if (!opts.abandon) {
      await Promise.all([...this.runtimes].map(([uuid, rt]) => rt.stopping ? undefined : writeRuntime(rt.files, {
        pid: rt.proc.pid, spec: rt.spec, startedAt: rt.startedAt, domainXml: formatDomainXml(rt.liveDef),
      }).catch((e: Error) => this.parts.opts.log('warn', `domain ${this.parts.domains.get(uuid)?.name ?? uuid}: cannot write its runtime record: ${e.message}`))));
    }
    for (const rt of this.runtimes.values()) {
      rt.stopping = true;
      rt.proc.qmp.close();
    }
    this.runtimes.clear();
  }

  // ------------------------------------------------------------ definitions
  validateDomainDef(def: DomainDef): void {
    qemuDomainSpec(def);
  }

  specOf(def: DomainDef): QemuDomainSpec {
    return qemuDomainSpec(def);
  }


  // ------------------------------------------------------------ processes and events
  /** The live definition of a running domain (undefined when it has no QEMU). */
  liveDef(dom: DomainObj): DomainDef | undefined {
    return this.runtimes.get(dom.uuid)?.liveDef;
  }

  /** A revert loaded another definition into the running QEMU: it is the live one now, also after a restart. */
  async setLiveDef(dom: DomainObj, rt: DomainRuntime, def: DomainDef): Promise<void> {
    rt.liveDef = def;
    await writeRuntime(rt.files, { pid: rt.proc.pid, spec: rt.spec, startedAt: rt.startedAt, domainXml: formatDomainXml(def) })
      .catch((e: Error) => this.parts.opts.log('warn', `domain ${dom.name}: cannot record its live definition: ${e.message}`));
  }

  /** `incoming`: QEMU waits for a vmstate (-incoming defer, then migrate-incoming). */
  async launch(dom: DomainObj, spec: QemuDomainSpec, paused: boolean, liveDef: DomainDef = dom.def,
    opts: { incoming?: boolean } = {}): Promise<DomainRuntime> {
    const files = domainRunFiles(this.runRoot, dom.uuid);
    prepareRunDir(files);
    prepareNvram(spec);
    const config = qemuConfigFor(dom.name, dom.uuid, spec, files, paused);
    if (opts.incoming) config.extraArgs = [...config.extraArgs ?? [], '-incoming', 'defer'];
    const proc = await QemuProcess.start(config);
    const rt: DomainRuntime = { proc, spec, files, busy: 0, stopping: false, shutdown: false, liveDef, startedAt: Date.now() };
    try {
      if (spec.serials.some((s) => s.type === 'pty')) {
        const chardevs = await proc.qmp.execute<Array<{ label: string; filename: string }>>('query-chardev');
        rt.liveDef = withPtyPaths(liveDef, ptyPaths(chardevs, spec.serials.length));
      }
      await writeRuntime(files, { pid: proc.pid, spec, startedAt: rt.startedAt, domainXml: formatDomainXml(rt.liveDef) });
    } catch (e) {
      rt.stopping = true;
      await proc.kill().catch(() => undefined);
      clearRuntime(files);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot record QEMU runtime state of '${dom.name}': ${(e as Error).message}`, ERR);
    }
    this.attach(dom.uuid, rt);
    return rt;
  }

  private attach(uuid: string, rt: DomainRuntime): void {
    this.runtimes.set(uuid, rt);
    rt.proc.qmp.on('event', (ev: QmpEvent) => this.onQmpEvent(uuid, rt, ev));
    rt.proc.qmp.once('close', () => void this.onQemuGone(uuid, rt));
  }

  /** QMP events from a QEMU nobody is driving right now are the domain's new state. */
  private onQmpEvent(uuid: string, rt: DomainRuntime, ev: QmpEvent): void {
    if (ev.event === 'SHUTDOWN') {
      if ((rt.fakeReboot || rt.spec.poweroffRestart) && ev.data?.guest === true) {
        void finishFakeReboot(this.parts.domains.get(uuid)?.name ?? uuid, rt, this.parts.opts.log);
        return;
      }
      rt.shutdown = true;
      return;
    }
    if (rt.busy > 0 || rt.stopping || this.runtimes.get(uuid) !== rt) return;
    const dom = this.parts.domains.get(uuid);
    if (!dom) return;
    if (ev.event === 'STOP' && dom.state === DomainState.VIR_DOMAIN_RUNNING) {
      dom.state = DomainState.VIR_DOMAIN_PAUSED;
      dom.reason = StateReason.PAUSED_UNKNOWN;
      this.persistStatus(dom);
      // An I/O error pause arrives as BLOCK_IO_ERROR plus STOP; query-status tells.
      rt.proc.queryStatus().then((s) => {
        if (s.status === 'io-error' && dom.state === DomainState.VIR_DOMAIN_PAUSED) {
          dom.reason = PAUSED_IOERROR;
          this.persistStatus(dom);
        }
      }, () => undefined);
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    } else if (ev.event === 'RESUME' && dom.state === DomainState.VIR_DOMAIN_PAUSED) {
      dom.state = DomainState.VIR_DOMAIN_RUNNING;
      dom.reason = StateReason.RUNNING_UNPAUSED;
      this.persistStatus(dom);
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_RESUMED, RESUMED_UNPAUSED);
    }
  }

  /** The monitor closed without us asking: QEMU exited (guest power-off) or died. */
  private async onQemuGone(uuid: string, rt: DomainRuntime): Promise<void> {
    if (rt.stopping || this.closing || this.runtimes.get(uuid) !== rt) return;
    this.runtimes.delete(uuid);
    if (!(await rt.proc.waitForExit(3_000))) await rt.proc.kill();
    clearRuntime(rt.files);
    const dom = this.parts.domains.get(uuid);
    if (!dom || !isActive(dom)) return;
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = rt.shutdown ? StateReason.SHUTOFF_SHUTDOWN : SHUTOFF_CRASHED;
    dom.id = -1;
    this.parts.opts.log(rt.shutdown ? 'info' : 'warn', `domain ${dom.name}: QEMU ${rt.shutdown ? 'shut down' : 'exited unexpectedly'}`);
    await this.persistStatusNow(dom);
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED,
      rt.shutdown ? DomainEvent.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN : STOPPED_FAILED);
    await this.parts.lifecycle.afterStop(dom).catch((e: Error) => this.parts.opts.log('error', `domain ${dom.name}: ${e.message}`));
  }

  private persistStatus(dom: DomainObj): void {
    void this.persistStatusNow(dom);
  }

  async persistStatusNow(dom: DomainObj): Promise<void> {
    await this.parts.store.persist(dom, this.parts.store.domainChanges(dom, { status: true }))
      .catch((e: Error) => this.parts.opts.log('error', `domain ${dom.name}: cannot save its state: ${e.message}`));
  }

  /** Stop a QEMU on purpose (quit, SIGKILL if it does not go) and forget it. */
  async terminate(uuid: string, rt: DomainRuntime): Promise<void> {
    rt.stopping = true;
    await rt.proc.quit();
    if (this.runtimes.get(uuid) === rt) this.runtimes.delete(uuid);
    clearRuntime(rt.files);
  }

  require(dom: DomainObj): DomainRuntime {
    const rt = this.runtimes.get(dom.uuid);
    const u = this.unreachable.get(dom.uuid);
    if (!rt && u) {
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `QEMU of domain '${dom.name}' (pid ${u.pid}) is running but not answering its monitor; retrying (destroy kills it)`, ERR);
    }
    if (!rt) throw new VirError('VIR_ERR_OPERATION_INVALID', `domain '${dom.name}' has no running QEMU process`, ERR);
    return rt;
  }

  /** Run `fn` with the QEMU's own STOP/RESUME events muted; the caller sets the state. */
  async driving<T>(rt: DomainRuntime, fn: () => Promise<T>): Promise<T> {
    rt.busy++;
    try {
      return await fn();
    } finally {
      rt.busy--;
    }
  }

  /** After a restart of the daemon: find the QEMU processes that kept running. */
  async reattachAll(): Promise<void> {
    for (const dom of this.parts.domains.values()) {
      const files = domainRunFiles(this.runRoot, dom.uuid);
      const record = readRuntime(files);
      let attached = false;
      if (record) {
        try {
          const proc = await QemuProcess.reattach(files.qmpSocket, files.pidfile, { logFile: files.logFile });
          const [status, disks] = await Promise.all([proc.queryStatus(), askDisks(proc, record.spec, liveDefFrom(record, dom))]);
          const rt: DomainRuntime = {
            proc, spec: disks.spec, files, busy: 0, stopping: false, shutdown: false, liveDef: disks.liveDef, startedAt: record.startedAt,
          };
          await this.recordDisks(dom, rt, disks);
          this.attach(dom.uuid, rt);
          const state = status.running ? DomainState.VIR_DOMAIN_RUNNING : DomainState.VIR_DOMAIN_PAUSED;
          if (dom.state !== state) {
            dom.state = state;
            dom.reason = 0;
          }
          if (dom.id < 0) dom.id = this.parts.domains.allocId();
          attached = true;
          this.parts.opts.log('info', `domain ${dom.name}: reattached to QEMU pid ${proc.pid} (${status.status})`);
        } catch (e) {
          const pid = liveQemuPid(files);
          if (pid !== undefined && isActive(dom)) {
            // Alive and holding the disks: never call it shut off. Keep the state, retry the monitor.
            this.parts.opts.log('warn', `domain ${dom.name}: QEMU pid ${pid} is running but its monitor did not answer ` +
              `(${(e as Error).message}); keeping the domain active and retrying`);
            this.unreachable.set(dom.uuid, { pid, files });
            this.retryReattach(dom.uuid);
            attached = true;
          } else {
            this.parts.opts.log('warn', `domain ${dom.name}: QEMU is gone (${(e as Error).message}); marking it shut off`);
          }
        }
      }
      if (!record) this.killUnrecorded(dom, files);
      if (!attached) {
        clearRuntime(files);
        if (isActive(dom)) {
          dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
          dom.reason = StateReason.SHUTOFF_UNKNOWN;
          dom.id = -1;
        }
      }
      await this.parts.store.persist(dom, this.parts.store.domainChanges(dom, { status: true }));
    }
    for (const dom of [...this.parts.domains.values()]) await this.parts.lifecycle.afterStop(dom);
  }

  /** Try the monitor of an unreachable QEMU again, until it answers or the process is gone. */
  private retryReattach(uuid: string): void {
    const u = this.unreachable.get(uuid);
    if (!u) return;
    u.timer = setTimeout(() => void this.reattachOne(uuid, u), REATTACH_RETRY_MS);
    u.timer.unref();
  }

  private async reattachOne(uuid: string, u: UnreachableQemu): Promise<void> {
    if (this.closing || this.unreachable.get(uuid) !== u) return;
    const dom = this.parts.domains.get(uuid);
    const record = readRuntime(u.files);
    try {
      if (!dom || !record) throw new Error('domain or runtime record gone');
      const proc = await QemuProcess.reattach(u.files.qmpSocket, u.files.pidfile, { logFile: u.files.logFile });
      if (this.closing || this.unreachable.get(uuid) !== u) {
        proc.qmp.close();
        return;
      }
      const [status, disks] = await Promise.all([proc.queryStatus(), askDisks(proc, record.spec, liveDefFrom(record, dom))]);
      const rt: DomainRuntime = {
        proc, spec: disks.spec, files: u.files, busy: 0, stopping: false, shutdown: false, liveDef: disks.liveDef, startedAt: record.startedAt,
      };
      await this.recordDisks(dom, rt, disks);
      if (this.closing || this.unreachable.get(uuid) !== u) {
        proc.qmp.close();
        return;
      }
      this.unreachable.delete(uuid);
      this.attach(uuid, rt);
      dom.state = status.running ? DomainState.VIR_DOMAIN_RUNNING : DomainState.VIR_DOMAIN_PAUSED;
      this.parts.opts.log('info', `domain ${dom.name}: reattached to QEMU pid ${proc.pid} (${status.status}) after a retry`);
      await this.persistStatusNow(dom);
    } catch (e) {
      if (this.unreachable.get(uuid) !== u) return;
      if (liveQemuPid(u.files) === u.pid) {
        this.retryReattach(uuid);
        return;
      }
      this.unreachable.delete(uuid);
      clearRuntime(u.files);
      if (!dom || !isActive(dom)) return;
      this.markStopped(dom, SHUTOFF_CRASHED);
      this.parts.opts.log('warn', `domain ${dom.name}: QEMU pid ${u.pid} exited before its monitor answered (${(e as Error).message})`);
      await this.persistStatusNow(dom);
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, STOPPED_FAILED);
    }
  }

  /**
   * A reattached QEMU's disks, as QEMU said (reattach-disks.ts): what the record had wrong is
   * logged, and the record rewritten. A failed rewrite leaves it as stale as it was: logged.
   * Written before `rt` is attached, so that no operation's record can come first and be
   * overwritten; a monitor that closed meanwhile (its close event went unheard) is an error.
   */
  private async recordDisks(dom: DomainObj, rt: DomainRuntime, disks: DiskRefresh): Promise<void> {
    for (const u of disks.unsure) this.parts.opts.log('warn', `domain ${dom.name}: ${u}`);
    if (disks.stale.length === 0) return;
    this.parts.opts.log('warn', `domain ${dom.name}: its runtime record was stale (the daemon did not stop cleanly after QEMU's disks `
      + `moved): ${disks.stale.join('; ')}; taken from QEMU and rewritten`);
    await writeRuntime(rt.files, { pid: rt.proc.pid, spec: rt.spec, startedAt: rt.startedAt, domainXml: formatDomainXml(rt.liveDef) })
      .catch((e: Error) => this.parts.opts.log('warn', `domain ${dom.name}: cannot rewrite its runtime record: ${e.message}`));
    if (rt.proc.qmp.closed) throw new Error('QEMU closed its monitor');
  }

  /** destroy of a QEMU whose monitor never answered: by its pid. */
  private async killUnreachable(dom: DomainObj, u: UnreachableQemu): Promise<void> {
    clearTimeout(u.timer);
    this.unreachable.delete(dom.uuid);
    if (!(await killQemu(u.pid))) {
      this.unreachable.set(dom.uuid, u);
      this.retryReattach(dom.uuid);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU pid ${u.pid} of domain '${dom.name}' did not exit after SIGKILL`, ERR);
    }
    clearRuntime(u.files);
  }

  /** libvirt starts autostart domains when the daemon starts. */
  async autostartAll(): Promise<void> {
    for (const dom of this.parts.domains.values()) {
      if (!dom.autostart || isActive(dom)) continue;
      try {
        await this.parts.lifecycle.changeState(dom, () => this.start(dom, false, StateReason.RUNNING_BOOTED));
        this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_BOOTED);
        this.parts.opts.log('info', `domain ${dom.name}: autostarted`);
      } catch (e) {
        this.parts.opts.log('error', `domain ${dom.name}: autostart failed: ${(e as Error).message}`);
      }
    }
  }

  /**
   * A QEMU the last daemon spawned but died before recording (a crash inside
   * launch, e.g. during a revert): it holds the domain's disks, and nothing
   * would ever stop it. Found by its pidfile and its monitor path.
   */
  private killUnrecorded(dom: DomainObj, files: DomainRunFiles): void {
    const pid = liveQemuPid(files);
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    this.parts.opts.log('warn', `domain ${dom.name}: killed QEMU pid ${pid}, started by a daemon that crashed before recording it`);
  }

  // ------------------------------------------------------------ lifecycle
  async start(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    await this.launch(dom, this.specOf(dom.def), paused);
    dom.state = paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
    dom.id = this.parts.domains.allocId();
  }

  async stop(dom: DomainObj, reason: number, graceful: boolean, flags = 0): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    if (graceful) {
      // The guest decides; its exit arrives as an event.
      await askGuest(dom.name, this.require(dom), flags, 'powerdown', this.parts.opts.log, dom.state === DomainState.VIR_DOMAIN_RUNNING);
      return;
    }
    if (rt) await this.terminate(dom.uuid, rt);
    const u = this.unreachable.get(dom.uuid);
    if (!rt && u) await this.killUnreachable(dom, u);
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }

  async suspend(dom: DomainObj, reason: number): Promise<void> {
    const rt = this.require(dom);
    await this.driving(rt, () => rt.proc.stop());
    dom.state = DomainState.VIR_DOMAIN_PAUSED;
    dom.reason = reason;
  }

  async resume(dom: DomainObj, reason: number): Promise<void> {
    const rt = this.require(dom);
    await this.driving(rt, () => rt.proc.cont());
    dom.state = DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
  }


  async reboot(dom: DomainObj, flags: number): Promise<void> {
    const rt = this.require(dom);
    await this.driving(rt, () => askGuest(dom.name, rt, flags, 'reboot', this.parts.opts.log, dom.state === DomainState.VIR_DOMAIN_RUNNING));
  }

  async reset(dom: DomainObj): Promise<void> {
    const rt = this.require(dom);
    await this.driving(rt, () => rt.proc.qmp.execute('system_reset'));
  }

  cpuTimeNs(dom: DomainObj): number {
    const rt = this.runtimes.get(dom.uuid);
    return rt ? qemuCpuTimeNs(rt.proc.pid) : 0;
  }

  markStopped(dom: DomainObj, reason: number): void {
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }
}

/** QEMU's disks against the record's (reattach-disks.ts); never rejects: a failed query keeps the record, said so. */
function askDisks(proc: QemuProcess, spec: QemuDomainSpec, liveDef: DomainDef): Promise<DiskRefresh> {
  return refreshFromQemu(proc.qmp, spec, liveDef).catch((e: Error) =>
    ({ spec, liveDef, stale: [], unsure: [`cannot ask QEMU what its disks run on (${e.message}); the runtime record is taken as is`] }));
}

/** The live definition a runtime record kept (older records: the persistent one). */
function liveDefFrom(record: { domainXml?: string }, dom: DomainObj): DomainDef {
  if (record.domainXml === undefined) return dom.def;
  try {
    return parseDomainXml(record.domainXml);
  } catch {
    return dom.def;
  }
}
