/**
 * Keys of cached functions: the fast path for calls of strings, numbers and booleans gives exactly the key the
 * general canonical encoding gives, and the byte-length limit still hashes long keys, multi-byte ones included.
 */
import { describe, expect, it } from 'vitest';
import {
  CallKeys,
  MAX_MEMOISED_CALL_KEYS,
  MAX_MEMOISED_STRING_LENGTH,
  functionKey,
  limitKeyLength,
} from '../../src/cache/keys.js';

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

describe('CallKeys', () => {
  const derived = (namespace: string, parts: unknown[], args: unknown[], keyLength: number): string =>
    limitKeyLength(namespace, functionKey(parts, args), keyLength);

  it('gives every call the key the derivation gives, the first time and from its memo', () => {
    const calls: unknown[][] = [
      [1],
      [0],
      [-0],
      ['1'],
      ['0'],
      [''],
      ['a b'],
      ['ü'],
      [true],
      ['true'],
      [false],
      [null],
      ['null'],
      [1.5],
      ['é'.repeat(30)],
      ['e'.repeat(30)],
      ['x'.repeat(MAX_MEMOISED_STRING_LENGTH + 1)],
      [],
      [undefined],
      [1, undefined],
      [1, 2],
      [Number.NaN],
      [new Date(0)],
      [{ b: 1, a: 2 }],
    ];
    // A key length of 60 hashes the 30 two-byte characters (with the namespace) but not the 30 one-byte ones.
    const keys = new CallKeys('ns', ['part', 3], 60);
    for (const round of [1, 2]) {
      for (const args of calls) {
        expect(keys.keyOf(args), `${JSON.stringify(args)}, round ${round}`).toBe(
          derived('ns', ['part', 3], args, 60),
        );
      }
    }
    expect(keys.keyOf(['é'.repeat(30)])).toMatch(/^sha256:/);
    // Only single scalars are remembered (0 and -0 are one Map key, with one key: "0"); long strings are not.
    expect(keys.size).toBe(15);
  });

  it('remembers at most MAX_MEMOISED_CALL_KEYS calls, and derives a forgotten one again', () => {
    const keys = new CallKeys('ns', [], 250);
    for (let id = 0; id < MAX_MEMOISED_CALL_KEYS + 10; id += 1) keys.keyOf([id]);
    expect(keys.size).toBe(MAX_MEMOISED_CALL_KEYS);
    // 0 was the oldest, so it was forgotten; its key is the same when derived again.
    expect(keys.keyOf([0])).toBe('[0]');
    expect(keys.keyOf([MAX_MEMOISED_CALL_KEYS + 9])).toBe(`[${MAX_MEMOISED_CALL_KEYS + 9}]`);
    expect(keys.size).toBe(MAX_MEMOISED_CALL_KEYS);
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
