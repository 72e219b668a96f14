/**
 * `virtsnapd --check`: load every driver store the state dir holds
 * (<stateDir>/<driver>/<instance>/domains), repair what is safe (temp files,
 * unacknowledged changes, empty directories) and report what needs a human.
 * Never drops metadata, and never touches a hypervisor.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { StoreInspector } from '../drivers/common/store-inspector.js';

export async function runCheck(stateDir: string, print: (line: string) => void): Promise<number> {
  let problems = 0;
  const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);
  for (const scheme of subdirs(stateDir).sort()) {
    for (const instance of subdirs(path.join(stateDir, scheme)).sort()) {
      const root = path.join(stateDir, scheme, instance, 'domains');
      if (!existsSync(root)) continue;
      const uri = `${scheme}:///${instance}`;
      const report = await StoreInspector.inspect(uri, root);
      for (const r of report.repaired) print(`repaired: ${uri}: ${r}`);
      for (const p of report.problems) print(`problem: ${uri}: ${p}`);
      problems += report.problems.length;
    }
  }
  print(problems === 0 ? 'state directory is consistent' : `${problems} problem(s) need attention`);
  return problems === 0 ? 0 : 2;
}
