/**
 * The examples of the README files, read from the files themselves, so that the
 * tests run exactly what a reader copies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './daemon.js';

/** The first ```lang block after the line `heading` in `file` (relative to the repository). */
export function readmeBlock(file: string, heading: string, lang: string): string {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  const at = text.split('\n').findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`${file}: no heading '${heading}'`);
  const rest = text.split('\n').slice(at + 1).join('\n');
  const m = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'm').exec(rest);
  if (!m) throw new Error(`${file}: no \`\`\`${lang} block after '${heading}'`);
  return m[1];
}

/** The library example of README.md (an ES module). */
export const libraryExample = () => readmeBlock('README.md', '## Using the client library', 'js');

/** The CLI example of README.md: one shell command per line. */
export const cliExample = () => readmeBlock('README.md', '## The CLI: `virtsnap`', 'sh').split('\n').filter((l) => l.trim() !== '');

/** The Python example of clients/README.md. */
export const pythonExample = () => readmeBlock('clients/README.md', '## The Python client', 'python');
