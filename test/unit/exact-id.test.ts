import { describe, expect, it } from 'vitest';
import { exactId, idKey, NumberToken, stringifyMessage, topLevelNumberToken } from '../../daemon/exact-id.js';

describe('exact request ids', () => {
  it('finds the top-level member, not one nested or inside a string', () => {
    const text = '{"params":{"id":1,"s":"\\",\\"id\\":5"},"a":[{"id":2}],"x":"{\\"id\\":3}","id":9007199254740993}';
    expect(topLevelNumberToken(text, 'id')).toBe('9007199254740993');
    expect(topLevelNumberToken('{"i\\u0064":  -12e+400 }', 'id')).toBe('-12e+400');
    expect(topLevelNumberToken('{"id":"9007199254740993"}', 'id')).toBeUndefined();
    expect(topLevelNumberToken('{"id":12345678901234567890,"id":"s"}', 'id')).toBeUndefined();
  });

  it('keeps a token only where a double would change it', () => {
    expect(exactId(7, '{"id":7}')).toBe(7);
    expect(exactId('9007199254740993', '{"id":"9007199254740993"}')).toBe('9007199254740993');
    expect(exactId(9007199254740992, '{"id":9007199254740993}')).toEqual(new NumberToken('9007199254740993'));
    expect(exactId(1.5, '{"id":1.5}')).toBe(1.5);
  });

  it('writes the token back, and tells apart ids a double would merge', () => {
    const id = new NumberToken('9007199254740993');
    expect(stringifyMessage({ jsonrpc: '2.0', id, result: null } as { jsonrpc: '2.0'; id: NumberToken })).toBe('{"jsonrpc":"2.0","id":9007199254740993,"result":null}');
    expect(idKey(id)).not.toBe(idKey(new NumberToken('9007199254740992')));
    expect(idKey(1)).not.toBe(idKey('1'));
    // A number is its own key; no other id's key is a number, or a string a number's could equal.
    const keys = [idKey(1), idKey('1'), idKey('number:1'), idKey(new NumberToken('1.0')), idKey(-0), idKey(0), idKey(null), idKey('null')];
    expect(new Set(keys).size).toBe(keys.length - 1);
    // -0 and 0 are one id in flight, as before (a Set keys them alike).
    expect(new Set([idKey(-0)]).has(idKey(0))).toBe(true);
  });
});
