import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../daemon/config-file.js';

const schema = { socket: 'string', job_timeout: 'integer', allowed_uids: 'integer-list', keepalive: 'boolean' } as const;

describe('virtsnapd.conf', () => {
  it('reads strings, integers, booleans, lists, comments', () => {
    const text = `# virtsnapd.conf\nsocket = "/run/v sock"   # trailing comment\n\njob_timeout = 45\nallowed_uids = [0, 1000]\nkeepalive = 1\n`;
    expect(parseConfig(text, 'f', schema)).toEqual({ socket: '/run/v sock', job_timeout: 45, allowed_uids: [0, 1000], keepalive: true });
  });

  it.each([
    ['bogus = 1', /f:1: unknown setting 'bogus' \(known: allowed_uids, job_timeout, keepalive, socket\)/],
    ['socket = /no/quotes', /f:1: socket: expected a string in double quotes/],
    ['job_timeout = ten', /f:1: job_timeout: expected an integer, got ten/],
    ['allowed_uids = 1000', /expected a list like/],
    ['allowed_uids = [1, x]', /expected a list of integers/],
    ['keepalive = yes', /expected 0 or 1/],
    ['just words', /f:1: expected 'key = value'/],
    ['job_timeout = 1\njob_timeout = 2', /f:2: 'job_timeout' is set twice/],
  ])('refuses %j', (text, message) => {
    expect(() => parseConfig(text, 'f', schema)).toThrow(ConfigError);
    expect(() => parseConfig(text, 'f', schema)).toThrow(message);
  });
});
