/**
 * Write-ahead intents of external snapshot operations. The image work of an
 * external create, revert or delete happens before BaseDriver commits the
 * metadata (which names only images that exist); a crash in between leaves
 * images the metadata does not describe. Each operation first records here,
 * durably, what it is about to do; at start-up the driver compares that with
 * the committed metadata and the images and finishes or undoes the work
 * (ExternalSnapshots.reconcile).
 *
 * Where the intent lives, and why an external operation pays ONE fdatasync.
 * The intent is a file of the domain's own store, `intent.json`, written
 * through the domain's redo log like the metadata (DomainStore). So:
 *
 * - Recording it is one append and one fdatasync, before any image changes.
 * - Its place in the log orders it with the metadata: an intent overwrites
 *   the previous one only in a frame at or after every change acknowledged
 *   before it, so the fdatasync that makes a new intent durable also makes the
 *   previous operation's metadata durable. A separate intent file could not
 *   promise that (it was overwritten by its own fdatasync, whatever the state
 *   of the last metadata commit).
 * - The metadata commit after the image work of a disk-only create and of a
 *   delete can therefore be lazy (HypervisorHooks.commitCovered): answered
 *   without a sync of its own, and durable with the domain's next append (the
 *   next operation's intent, any commit, a timer, shutdown). If a crash loses
 *   it, the durable intent is still there, and recovery rolls the operation
 *   FORWARD: a delete always did (its merges cannot be taken back); a create
 *   carries its snapshot's definition (`forward`) and is recorded from it when
 *   the images show the switch happened (external-reconcile.ts). An operation
 *   answered as successful thus survives any crash, and one that was not may
 *   land either way, but metadata and images agree.
 * - The metadata commit of an operation drops its intent in the same change
 *   (settleFiles, HypervisorHooks.settleFiles): both durable or neither. So
 *   an intent the store holds belongs to an operation whose metadata commit
 *   is not durable (interrupted or failed; a NO_METADATA create's commit is
 *   that of the domain's definition alone); recovery never has to tell a
 *   committed one by file names. That
 *   matters for a revert: its fresh overlay may take the name of the image
 *   it discards, and then the definition names the same file before and
 *   after its commit. A failed revert settles its intent itself, at once
 *   (ExternalSnapshots.revert). Dropping an intent otherwise (forget,
 *   when an internal operation or a redefinition comes next) costs no sync:
 *   a lazy change, durable with that operation's commit.
 *
 * Not lazy, so still two syncs: a revert (its outcome depends on the QEMU it
 * started, which the images alone do not show) and a create with memory (the
 * vmstate file's completeness would have to be judged too). A create with
 * memory is undone by its recovery; a revert is undone, or finished when it
 * may have replaced the image it discards (external-reconcile.ts).
 *
 * Intents from before this scheme (`<state-dir>/qemu/<instance>/intents/<uuid>.json`)
 * are still read, reconciled and removed at start-up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DomainObj } from '../../common/domain-obj.js';
import type { FileChange } from '../../common/domain-store.js';
import type { DurableStore } from '../../common/durable-store.js';
import { fsyncDir } from '../../common/fs-sync.js';
import type { OverlayPlan } from './external-plan.js';

export interface Merge { target: string; top: string; base: string }

/** One process for good: its pid and its start time (qemu-process.ts processStartTime). */
export interface ProcessId { pid: number; start: number }

export type Intent =
  /**
   * `memory`: the vmstate file being written, and whether the guest ran before (to resume it).
   * `forward`: the snapshot's definition (internal XML, without `<active>`), present when the
   * metadata commit is lazy: recovery records the snapshot from it if the images switched.
   */
  | { op: 'create'; snapshot: string; plans: OverlayPlan[]; memory?: { file: string; running: boolean }; forward?: string }
  /**
   * `qemu`: the QEMU that ran the domain before the revert stopped it (null: none ran). Recorded
   * since the revert's own commit drops its intent (settleFiles); older intents lack it.
   */
  | { op: 'revert'; snapshot: string; overlays: Array<{ target: string; frozen: string; overlay: string }>; qemu?: ProcessId | null }
  /** One entry per snapshot, in the order they are merged. */
  | { op: 'delete'; steps: Array<{ snapshot: string; merges: Merge[] }> };

export const INTENT_FILE = 'intent.json';

export class IntentLog {
  /** `legacyDir`: where intents were kept before they moved into the store; read and cleared only. */
  constructor(private readonly store: DurableStore, private readonly legacyDir?: string) {}

  private legacyFile(uuid: string): string | undefined {
    return this.legacyDir === undefined ? undefined : path.join(this.legacyDir, `${uuid}.json`);
  }

  /**
   * Durable (with everything of the domain acknowledged before it) before any
   * image is touched. A delete's may use the space kept for deletes: a delete
   * is how a full disk gets space back.
   */
  record(dom: DomainObj, intent: Intent): Promise<void> {
    return this.store.recordNow(dom, [{ file: INTENT_FILE, content: JSON.stringify(intent) + '\n' }], { frees: intent.op === 'delete' });
  }

  read(uuid: string): Intent | undefined {
    const parse = (text: string | null | undefined) => {
      try {
        return text ? JSON.parse(text) as Intent : undefined;
      } catch {
        return undefined;
      }
    };
    const stored = parse(this.store.readFile(uuid, INTENT_FILE));
    if (stored) return stored;
    const legacy = this.legacyFile(uuid);
    return legacy === undefined ? undefined : parse(readOrUndefined(legacy));
  }

  /**
   * The intent's removal, for the commit of its operation's metadata
   * (HypervisorHooks.settleFiles): durable together, lazily or not, so an
   * intent the store holds after a crash belongs to an operation whose
   * metadata commit never became durable. Empty when there is none.
   */
  settleFiles(dom: DomainObj): FileChange[] {
    return this.store.readFile(dom.uuid, INTENT_FILE) === null ? [] : [{ file: INTENT_FILE, content: null }];
  }

  /**
   * Drop the intent of an operation that finished, before another operation
   * (internal, or a redefinition) changes what its reconciliation would look
   * at. Lazy: it reaches the disk no later than that operation's own commit,
   * which is all it needs (see the top of this file).
   */
  forget(dom: DomainObj): void {
    if (this.store.readFile(dom.uuid, INTENT_FILE) === null) return;
    void this.store.persist(dom, [{ file: INTENT_FILE, content: null }], undefined, { lazy: true });
  }

  /** The intent was reconciled: dropped durably (start-up, --check --reconcile). */
  async clear(dom: DomainObj): Promise<void> {
    if (this.store.readFile(dom.uuid, INTENT_FILE) !== null) await this.store.recordNow(dom, [{ file: INTENT_FILE, content: null }]);
    const legacy = this.legacyFile(dom.uuid);
    if (legacy !== undefined && fs.existsSync(legacy)) {
      fs.unlinkSync(legacy);
      await fsyncDir(this.legacyDir!);
    }
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
