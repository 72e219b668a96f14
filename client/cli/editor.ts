/** $VISUAL / $EDITOR on a temporary copy of a document (tools/vsh.c vshEditWriteToTempFile/vshEditFile). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './vsh.js';

export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL || env.EDITOR || 'vi';
}

/** Let the user edit `doc`; returns the edited text. */
export function editText(doc: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap'));
  const file = path.join(dir, 'snapshot.xml');
  try {
    writeFileSync(file, doc, { mode: 0o600 });
    const editor = editorCommand(env);
    // Through the shell, so that EDITOR="code --wait" works as in virsh.
    const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env });
    if (r.error) throw new CliError(`Cannot run '${editor}': ${r.error.message}`);
    if (r.status !== 0) throw new CliError(`Child process (${editor} ${file}) unexpected exit status ${r.status ?? r.signal}`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
