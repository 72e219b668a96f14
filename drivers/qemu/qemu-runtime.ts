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
import type { DomainDef } from '../common/xml/domain-xml.js';
import { qemuConfigFor, qemuDomainSpec, type QemuDomainSpec } from './qemu-domain-spec.js';
import { QemuProcess } from './qemu-process.js';
import type { QmpEvent } from './qmp-client.js';
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
}

export class QemuRuntime {
  private readonly runtimes = new Map<string, DomainRuntime>();
  private closing = false;

  constructor(private readonly parts: DriverParts, private readonly runRoot: string) {}

  /** The running QEMU of a domain, if any. */
  get(uuid: string): DomainRuntime | undefined {
    return this.runtimes.get(uuid);
  }

  async close(): Promise<void> {
    // QEMU keeps running without us; a restarted daemon reattaches.
    this.closing = true;
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
  async launch(dom: DomainObj, spec: QemuDomainSpec, paused: boolean): Promise<DomainRuntime> {
    const files = domainRunFiles(this.runRoot, dom.uuid);
    prepareRunDir(files);
    const proc = await QemuProcess.start(qemuConfigFor(dom.name, dom.uuid, spec, files, paused));
    const rt: DomainRuntime = { proc, spec, files, busy: 0, stopping: false, shutdown: false };
    try {
      await writeRuntime(files, { pid: proc.pid, spec, startedAt: Date.now() });
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
          const rt: DomainRuntime = { proc, spec: record.spec, files, busy: 0, stopping: false, shutdown: false };
          const status = await proc.queryStatus();
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
          this.parts.opts.log('warn', `domain ${dom.name}: QEMU is gone (${(e as Error).message}); marking it shut off`);
        }
      }
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

  // ------------------------------------------------------------ lifecycle
  async start(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    await this.launch(dom, this.specOf(dom.def), paused);
    dom.state = paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
    dom.id = this.parts.domains.allocId();
  }

  async stop(dom: DomainObj, reason: number, graceful: boolean): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    if (graceful) {
      // ACPI power button, as libvirt's shutdown: the guest decides; its exit arrives as an event.
      await this.require(dom).proc.systemPowerdown();
      return;
    }
    if (rt) await this.terminate(dom.uuid, rt);
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


  markStopped(dom: DomainObj, reason: number): void {
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }
}
