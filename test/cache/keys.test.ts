/**
 * Keys of cached functions: the fast path for calls of strings, numbers and booleans gives exactly the key the
 * general canonical encoding gives, and the byte-length limit still hashes long keys, multi-byte ones included.
 */
import { describe, expect, it } from 'vitest';
import { functionKey, limitKeyLength } from '../../src/cache/keys.js';

describe('functionKey', () => {
  const scalars = ['a b', 'ü', '', 1, -0, 1.5, true, false, null];
  it('encodes scalar arguments as the general path does', () => {
    // A trailing plain object sends the same arguments through the canonical encoding.
    const general = functionKey(['part'], [...scalars, {}]);
    expect(functionKey(['part'], scalars)).toBe(general.replace(/,\{\}\]$/, ']'));
  });

  it('keeps 1 and "1", and one argument and two, apart', () => {
    expect(functionKey([], [1])).not.toBe(functionKey([], ['1']));
    expect(functionKey([], ['a b'])).not.toBe(functionKey([], ['a', 'b']));
    expect(functionKey([], [1, undefined])).toBe(functionKey([], [1]));
  });

  it('still encodes what JSON alone cannot (NaN, a Date) through the codec', () => {
    expect(functionKey([], [Number.NaN])).not.toBe(functionKey([], [null]));
    expect(functionKey([], [new Date(0)])).not.toBe(functionKey([], [new Date(0).toISOString()]));
  });
});

describe('limitKeyLength', () => {
  it('keeps a key within the limit and hashes one past it, counting UTF-8 bytes', () => {
    expect(limitKeyLength('ns', 'k'.repeat(248), 250)).toBe('k'.repeat(248));
    expect(limitKeyLength('ns', 'k'.repeat(249), 250)).toMatch(/^sha256:/);
    // 100 characters of 2 bytes each: 200 bytes plus the namespace, within 250; 130 of them are not.
    expect(limitKeyLength('ns', 'é'.repeat(100), 250)).toBe('é'.repeat(100));
    expect(limitKeyLength('ns', 'é'.repeat(130), 250)).toMatch(/^sha256:/);
  });
});
