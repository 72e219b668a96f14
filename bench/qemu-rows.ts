/**
 * `npm run bench -- --only qemu`: the qemu driver's benchmarks (each a program of
 * its own, runnable alone) run as child processes, their JSON kept whole in the
 * results and each `driverX` median put in the table against its `rawX` floor.
 * Run as children because each starts QEMU processes and a driver of its own,
 * and a failure of one must not take the others' figures with it.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Row = (what: string, value: string, floor: string, ratio: string) => void;

const here = path.dirname(fileURLToPath(import.meta.url));

/** A table row: the driver's figure and the floor it is compared with, both keys of the program's JSON. */
interface Pair { what: string; driver: string; floor: string; floorLabel: string }

/** The qemu benchmarks, by file name (dist/bench/NAME.js), and the rows taken from each one's JSON. */
const PROGRAMS: Array<{ file: string; label: string; pairs: Pair[] }> = [
  {
    file: 'qemu-external', label: 'qemu external', pairs: [
      { what: 'disk-only create, running', driver: 'driverCreateLive', floor: 'rawCreateLive', floorLabel: 'raw QMP' },
      { what: 'delete (block-commit), running', driver: 'driverDeleteLive', floor: 'rawDeleteLive', floorLabel: 'raw QMP' },
      { what: 'delete (block-commit), running', driver: 'driverDeleteLive', floor: 'durableRawDeleteLive', floorLabel: 'raw QMP after one durable 4 KiB append' },
      { what: 'revert to disk-only, to running', driver: 'driverRevert', floor: 'rawRevert', floorLabel: 'raw restart' },
      { what: 'disk-only create, shut off', driver: 'driverCreateOffline', floor: 'rawCreateOffline', floorLabel: 'qemu-img' },
      { what: 'delete (commit), shut off', driver: 'driverDeleteOffline', floor: 'rawDeleteOffline', floorLabel: 'qemu-img' },
      { what: 'delete (commit), shut off', driver: 'driverDeleteOffline', floor: 'durableRawDeleteOffline', floorLabel: 'qemu-img after one durable 4 KiB append' },
    ],
  },
  {
    file: 'qemu-external-memory', label: 'qemu external memory', pairs: [
      { what: 'memory create, running', driver: 'driverCreateMemory', floor: 'rawCreateMemory', floorLabel: 'raw QMP' },
      { what: 'revert to memory, to running', driver: 'driverRevertMemory', floor: 'rawRevertMemory', floorLabel: 'raw -incoming' },
    ],
  },
  {
    // Needs libvirt 9.0 (not a dependency: see the program's header); without it the rows are skipped.
    file: 'libvirt-external', label: 'qemu external vs libvirt', pairs: [
      { what: 'disk-only create, running', driver: 'driverCreateLive', floor: 'libvirtCreateLive', floorLabel: 'libvirt 9.0 snapshot-create-as --disk-only' },
      { what: 'delete (block-commit), running', driver: 'driverDeleteLive', floor: 'libvirtDeleteLive', floorLabel: 'libvirt 9.0 snapshot-delete' },
    ],
  },
  {
    file: 'qemu-revert', label: 'qemu internal', pairs: [
      { what: 'create (snapshot-save)', driver: 'driverCreate', floor: 'rawSnapshotSave', floorLabel: 'raw QMP' },
      { what: 'revert in place', driver: 'driverRevertInPlace', floor: 'rawSnapshotLoad', floorLabel: 'raw QMP' },
      { what: 'revert in place', driver: 'driverRevertInPlace', floor: 'libvirtStyleRestartRevert', floorLabel: 'libvirt-style restart' },
      { what: 'delete (snapshot-delete)', driver: 'driverDelete', floor: 'rawSnapshotDelete', floorLabel: 'raw QMP' },
    ],
  },
];

interface Stats { median: number }

const isStats = (v: unknown): v is Stats => typeof (v as Stats | undefined)?.median === 'number';

export function qemuBench(row: Row, quick: boolean): Record<string, unknown> {
  const results: Record<string, unknown> = {};
  for (const { file, label, pairs } of PROGRAMS) {
    process.stderr.write(`  ${label} ...\n`);
    let out: Record<string, unknown>;
    try {
      const text = execFileSync(process.execPath, [path.join(here, `${file}.js`), quick ? '5' : '15'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 });
      out = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      // QEMU missing or a run failing: said in the results, the other rows still come.
      results[file] = { failed: (e as Error).message.split('\n')[0] };
      process.stderr.write(`  ${label}: failed, skipped (${(results[file] as { failed: string }).failed})\n`);
      continue;
    }
    results[file] = out;
    for (const p of pairs) {
      const driver = out[p.driver], floor = out[p.floor];
      // A renamed key must not drop a row silently.
      if (!isStats(driver) || !isStats(floor)) throw new Error(`${file}: no '${p.driver}' or '${p.floor}' in its output`);
      row(`${label}: ${p.what}, median (ms)`, driver.median.toFixed(1), `${floor.median.toFixed(1)} ${p.floorLabel}`,
        `${(driver.median / floor.median).toFixed(2)}x`);
    }
  }
  return results;
}
