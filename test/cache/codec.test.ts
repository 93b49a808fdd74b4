/** The cache codec's plain-JSON fast path gives what the general (tagging) path gives. */
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/shared/codec.js';

describe('the plain-JSON fast path', () => {
  it.each([
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['undefined in an array', [1, undefined]],
    ['an object property that is undefined', { a: 1, b: undefined }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: [1, { b: 'c' }] })],
    ['an object with a $beaker key', { $beaker: 'Date' }],
    ['a deep plain value', JSON.parse('['.repeat(40) + '1' + ']'.repeat(40)) as unknown],
  ])('gives %s the same text as the tagging encoder', (_label, value) => {
    expect(decodeValue(encodeValue(value))).toEqual(value);
  });
});

it('keeps a sparse array’s hole as undefined, as the general path always did', () => {
  // eslint-disable-next-line no-sparse-arrays
  expect(decodeValue(encodeValue([1, , 3]))).toEqual([1, undefined, 3]);
});

// A planted entry is untrusted input: decoding may cost no more than its own size. A Uint8Array tag holding
// {"length": 5e7} blocked the event loop for 2.5 s (2e9: no end within 120 s), filling what Buffer.from allocated.
describe('decoding a planted entry', () => {
  it.each([
    ['Uint8Array', '{"length":2000000000}'],
    ['Uint8Array', '[1,2,3]'],
    ['Map', '{"length":2000000000}'],
    ['Set', '"abc"'],
    ['Object', '{"length":2000000000}'],
    ['BigInt', '{"length":2000000000}'],
    ['Number', '[]'],
  ])('refuses a %s tag holding %s, at once', (type, payload) => {
    const text = `{"$beaker":"${type}","v":${payload}}`;
    expect(() => decodeValue(text)).toThrow(TypeError);
  });
});
