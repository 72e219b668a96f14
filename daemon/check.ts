/**
 * `virtsnapd --check`: ask every registered driver to load the state it keeps
 * under the state dir, repair what is safe (temp files, unacknowledged changes,
 * empty directories) and report what needs a human. Never drops metadata, and
 * never touches a hypervisor (see DriverFactory.inspect).
 */
import type { DriverFactory } from '../drivers/driver.js';

export async function runCheck(stateDir: string, drivers: readonly DriverFactory[], print: (line: string) => void): Promise<number> {
  let problems = 0;
  const byScheme = [...drivers].sort((a, b) => (a.scheme < b.scheme ? -1 : a.scheme > b.scheme ? 1 : 0));
  for (const factory of byScheme) {
    for (const { uri, report } of (await factory.inspect?.(stateDir)) ?? []) {
      for (const r of report.repaired) print(`repaired: ${uri}: ${r}`);
      for (const p of report.problems) print(`problem: ${uri}: ${p}`);
      problems += report.problems.length;
    }
  }
  print(problems === 0 ? 'state directory is consistent' : `${problems} problem(s) need attention`);
  return problems === 0 ? 0 : 2;
}
