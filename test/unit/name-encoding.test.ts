import { describe, expect, it } from 'vitest';
import { encodeName } from '../../drivers/common/name-encoding.js';

describe('snapshot file names', () => {
  const tricky = ['s1', 'a/b', '../x', '..', '.', '.hidden', '   ', 'snap é漢', 'a<b&c', 'x'.repeat(4096), '%41', 'A', '-', '~x', 'a\nb'];

  it('never leaves the directory and fits NAME_MAX', () => {
    for (const n of tricky) {
      const f = encodeName(n);
      expect(f).not.toContain('/');
      expect(f.startsWith('.')).toBe(false);
      expect(Buffer.byteLength(f) + '.xml'.length).toBeLessThanOrEqual(255);
      expect(f).toMatch(/^[A-Za-z0-9_%~-]+$/);
    }
  });

  it('is injective on distinct names, including ones that look encoded', () => {
    const seen = new Map<string, string>();
    for (const n of [...tricky, 'A', 'a', '%2F', '/', '~' + 'f'.repeat(64), 'y'.repeat(300), 'y'.repeat(301)]) {
      const f = encodeName(n);
      if (seen.has(f)) expect(seen.get(f)).toBe(n);
      seen.set(f, n);
    }
    expect(encodeName('%41')).not.toBe(encodeName('A'));
    expect(encodeName('y'.repeat(300))).not.toBe(encodeName('y'.repeat(301)));
  });

  it('keeps plain names readable', () => {
    expect(encodeName('s1')).toBe('s1');
    expect(encodeName('a/b')).toBe('a%2Fb');
  });
});
