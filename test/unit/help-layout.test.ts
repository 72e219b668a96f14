/**
 * `virtsnapd --help` layout: every option line is the option (and its argument),
 * at least two spaces, then its description; wrapped lines continue exactly
 * under the description; no line is wider than the formatter's width.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HELP_DESC_COLUMN, HELP_WIDTH, optionLines, wrapWords } from '../../daemon/help-format.js';
import { OPTIONS } from '../../daemon/options.js';
import { daemonMain } from '../helpers/daemon.js';

const OPTION_LINE = /^ {2}(--[a-z][a-z-]*)(?: ([A-Z][A-Z0-9:_.-]*))?(?: {2,}(\S.*))?$/;

function checkLayout(text: string): Map<string, string> {
  const lines = text.split('\n');
  const described = new Map<string, string>();
  let current: string | undefined;
  let awaitingDescription = false;
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    expect(line.length, where).toBeLessThanOrEqual(HELP_WIDTH);
    expect(line, where).not.toMatch(/\s$/);
    const m = OPTION_LINE.exec(line);
    if (m) {
      current = m[1];
      if (m[3] !== undefined) {
        // The description starts in the description column, two or more spaces after the option.
        expect(line.indexOf(m[3]), where).toBe(HELP_DESC_COLUMN);
        described.set(current, m[3]);
        awaitingDescription = false;
      } else {
        // Too long for the column: the description must follow on the next line.
        expect(`  ${m[1]}${m[2] ? ` ${m[2]}` : ''}`.length + 2, where).toBeGreaterThan(HELP_DESC_COLUMN);
        awaitingDescription = true;
      }
      return;
    }
    if (line.startsWith('  ')) {
      // A continuation line: under the description, never in the option column.
      expect(current, where).toBeDefined();
      expect(line.slice(0, HELP_DESC_COLUMN).trim(), where).toBe('');
      expect(line[HELP_DESC_COLUMN], where).not.toBe(' ');
      if (awaitingDescription) described.set(current!, line.trim());
      else described.set(current!, `${described.get(current!)} ${line.trim()}`);
      awaitingDescription = false;
      return;
    }
    expect(awaitingDescription, `${where}: the option above has no description`).toBe(false);
    current = undefined;
  });
  return described;
}

describe('virtsnapd --help layout', () => {
  it('the real binary: every option of the table, name + arg, two spaces, description; wrapped lines aligned', () => {
    const text = execFileSync(process.execPath, [daemonMain, '--help'], { encoding: 'utf8' });
    const described = checkLayout(text);
    for (const o of OPTIONS) {
      expect(described.has(`--${o.flag}`), `--${o.flag} missing from --help`).toBe(true);
      // The whole description survives the wrapping, word for word.
      expect(described.get(`--${o.flag}`)!.startsWith(o.help.replace(/\s+/g, ' ')), `--${o.flag}`).toBe(true);
    }
    for (const flag of ['--config', '--check', '--version', '--help']) expect(described.has(flag), flag).toBe(true);
    // The option that used to run into its text (`--slow-client-timeout SECclose`).
    expect(text).not.toMatch(/SEC\S/);
    expect(text).toMatch(/^ {2}--slow-client-timeout SEC\n {27}close a connection/m);
  });

  it('optionLines: short names share the line, long names push the description down, text wraps under it', () => {
    expect(optionLines('  --a N', 'short')).toEqual([`${'  --a N'.padEnd(HELP_DESC_COLUMN)}short`]);
    const exactlyTooLong = `  --${'x'.repeat(HELP_DESC_COLUMN - 5)}`; // length HELP_DESC_COLUMN - 1: no room for two spaces
    expect(optionLines(exactlyTooLong, 'd')).toEqual([exactlyTooLong, `${' '.repeat(HELP_DESC_COLUMN)}d`]);
    const fits = `  --${'x'.repeat(HELP_DESC_COLUMN - 6)}`; // two spaces exactly
    expect(optionLines(fits, 'd')).toEqual([`${fits}  d`]);
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const lines = optionLines('  --b N', long);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(HELP_WIDTH);
    for (const l of lines.slice(1)) expect(l.startsWith(' '.repeat(HELP_DESC_COLUMN) + 'word')).toBe(true);
    expect(lines.map((l) => l.slice(HELP_DESC_COLUMN)).join(' ')).toBe(long);
  });

  it('wrapWords keeps an over-long word whole on its own line', () => {
    expect(wrapWords('a bbbbbbbbbb c', 5)).toEqual(['a', 'bbbbbbbbbb', 'c']);
    expect(wrapWords('  ', 5)).toEqual([]);
  });
});
