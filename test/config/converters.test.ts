import { describe, expect, it } from 'vitest';
import { asBool, asInt, asList } from '../../src/config/index.js';

describe('asBool (spec §5.1 cases 1-4)', () => {
  it.each(['true', 'yes', 'on', 'y', 't', '1', 'TRUE', 'Yes', 'ON', 'Y', 'T', '  true  '])(
    '%j is true',
    (text) => {
      expect(asBool(text)).toBe(true);
    },
  );
  it.each(['false', 'no', 'off', 'n', 'f', '0', 'FALSE', 'No', 'OFF', 'N', 'F', ' 0 '])(
    '%j is false',
    (text) => {
      expect(asBool(text)).toBe(false);
    },
  );
  it('uses truthiness for booleans and numbers', () => {
    expect([true, 1, 42, false, 0].map(asBool)).toEqual([true, true, true, false, false]);
  });
  it.each(['mommy!', 'Blargl?', '', 'truee'])('refuses %j with Beaker’s text', (text) => {
    expect(() => asBool(text)).toThrow(`String is not true/false: '${text.trim().toLowerCase()}'`);
  });
  it('refuses objects instead of guessing', () => {
    expect(() => asBool({})).toThrow(TypeError);
  });
});

describe('asInt', () => {
  it('keeps integers and parses digit strings', () => {
    expect(asInt(5)).toBe(5);
    expect(asInt('300')).toBe(300);
    expect(asInt('007')).toBe(7);
  });
  it.each(['-5', '1.5', ' 5', '5 ', '', 'five', '1e3'])('refuses %j (digits only, as Beaker)', (text) => {
    expect(() => asInt(text)).toThrow('This is not a proper int');
  });
  it('refuses non-integers and digit strings beyond the safe range', () => {
    expect(() => asInt(1.5)).toThrow();
    expect(() => asInt('99999999999999999999')).toThrow();
    expect(() => asInt(true)).toThrow();
  });
});

describe('asList (spec §5.1 cases 5-8)', () => {
  it('splits strings on blanks or on a separator', () => {
    expect(asList('abc')).toEqual(['abc']);
    expect(asList('1a2a3', 'a')).toEqual(['1', '2', '3']);
    expect(asList('  a b\tc ')).toEqual(['a', 'b', 'c']);
    expect(asList(' a , b ', ',', false)).toEqual([' a ', ' b ']);
  });
  it('gives [] for null and undefined', () => {
    expect(asList(null)).toEqual([]);
    expect(asList(undefined)).toEqual([]);
  });
  it('returns arrays unchanged', () => {
    const list = [1, 2];
    expect(asList(list)).toBe(list);
  });
  it('wraps any other object', () => {
    const object = { a: 1 };
    expect(asList(object)).toEqual([object]);
    expect(asList(5)).toEqual([5]);
  });
});
