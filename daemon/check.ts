/**
 * `virtsnapd --check`: ask every registered driver to load the state it keeps
 * under the state dir, repair what is safe (temp files, unacknowledged changes,
 * empty directories) and report what needs a human. Never drops metadata, and
 * never touches a hypervisor (see DriverFactory.inspect). Corrupt state (a redo
 * log damaged before its end) is a problem left as it is; with `salvage` it is
 * cut back to what can be proven good, the original set aside, and what was
 * dropped is listed. With `reconcile`, operations a driver would finish or
 * undo at start-up (the qemu driver's interrupted external snapshot
 * operations) are done too; without it they are problems, described.
 */
import type { DriverFactory, InspectOptions } from '../drivers/driver.js';

export async function runCheck(stateDir: string, drivers: readonly DriverFactory[], print: (line: string) => void,
  opts: InspectOptions = {}): Promise<number> {
  let problems = 0;
  let salvaged = 0;
  const byScheme = [...drivers].sort((a, b) => (a.scheme < b.scheme ? -1 : a.scheme > b.scheme ? 1 : 0));
  for (const factory of byScheme) {
    for (const { uri, report } of (await factory.inspect?.(stateDir, opts)) ?? []) {
      for (const lines of report.salvaged ?? []) {
        for (const line of lines) print(`salvaged: ${uri}: ${line}`);
        salvaged++;
      }
      for (const r of report.repaired) print(`repaired: ${uri}: ${r}`);
      for (const p of report.problems) print(`problem: ${uri}: ${p}`);
      problems += report.problems.length;
    }
  }
  const after = salvaged > 0 ? ` after salvaging ${salvaged} log(s) (what was dropped is listed above)` : '';
  print(problems === 0 ? `state directory is consistent${after}` : `${problems} problem(s) need attention`);
  return problems === 0 ? 0 : 2;
}
