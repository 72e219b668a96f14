/**
 * The layout of `virtsnapd --help`: an option column, at least two spaces, then
 * its description, word-wrapped so that no line passes HELP_WIDTH and every
 * continuation starts under the description. A name too long for the column
 * gets its description on the next line instead of running into it.
 */
export const HELP_WIDTH = 100;
/** Where descriptions start (0-based column). */
export const HELP_DESC_COLUMN = 27;

/** Greedy word wrap of `text` into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** `  --name ARG` and its description, as help lines. */
export function optionLines(left: string, description: string): string[] {
  const indent = ' '.repeat(HELP_DESC_COLUMN);
  const body = wrapWords(description, HELP_WIDTH - HELP_DESC_COLUMN);
  if (left.length + 2 > HELP_DESC_COLUMN) return [left, ...body.map((l) => indent + l)];
  return body.map((l, i) => (i === 0 ? left.padEnd(HELP_DESC_COLUMN) : indent) + l);
}

/** A free paragraph, wrapped at HELP_WIDTH. */
export function paragraphLines(text: string): string[] {
  return wrapWords(text, HELP_WIDTH);
}
