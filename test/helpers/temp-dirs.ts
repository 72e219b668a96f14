/**
 * Temp dirs for tests, removed after each test file by the setup file
 * test/helpers/temp-cleanup.ts (vitest `setupFiles`): a test that fails, or
 * forgets, leaves nothing in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

export function tempDir(prefix = 'virtsnap-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Best effort: a process a failed test left running may still write into one. */
export function removeTempDirs(): void {
  for (const dir of made) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch { /* left behind */ }
  }
  made.clear();
}
