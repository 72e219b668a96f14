/**
 * `virtsnapd --check`: load every driver store the state dir holds, repair what
 * is safe (temp files, committed journals, empty directories) and report what
 * needs a human. Never drops metadata.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TestDriver } from '../drivers/test/test-driver.js';

export async function runCheck(stateDir: string, print: (line: string) => void): Promise<number> {
  let problems = 0;
  const testRoot = path.join(stateDir, 'test', 'default');
  if (existsSync(testRoot)) {
    const driver = await TestDriver.open('test:///default', 'default', { stateDir, log: () => undefined });
    for (const r of driver.loadReport.repaired) print(`repaired: test:///default: ${r}`);
    for (const p of driver.loadReport.problems) print(`problem: test:///default: ${p}`);
    problems += driver.loadReport.problems.length;
    await driver.close();
  }
  print(problems === 0 ? 'state directory is consistent' : `${problems} problem(s) need attention`);
  return problems === 0 ? 0 : 2;
}
