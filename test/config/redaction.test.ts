/** Secrets never print: parsed options, coerced options and managers mask them when logged or serialized. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  SessionManager,
  coerceSessionParams,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
} from '../../src/index.js';

const SECRET = 'secret-value-0123456789abcdef-0123456789';
const VALIDATE = 'validate-key-0123456789abcdef-0123456789';
const ENCRYPT = 'encrypt-key-0123456789abcdef-01234567890';
const PASSWORD = 'hunter2-password';

describe('secrets in printed options', () => {
  const session = parseSessionConfigOptions({
    'session.type': 'ext:redis',
    'session.url': `redis://:${PASSWORD}@127.0.0.1:6379/0`,
    'session.secret': SECRET,
    'session.validate_key': VALIDATE,
    'session.encrypt_key': ENCRYPT,
    'session.sa.url': `postgresql://app:${PASSWORD}@db/app`,
  });
  const cache = parseCacheConfigOptions({
    'cache.type': 'ext:redis',
    'cache.url': `redis://:${PASSWORD}@127.0.0.1:6379/0`,
    'cache.regions': 'short',
    'cache.short.url': `redis://user:${PASSWORD}@10.0.0.1:6379/1`,
  });
  const manager = new SessionManager({ ...session, onEvent: () => undefined });
  const shown = [
    inspect(session, { depth: 5 }),
    JSON.stringify(session),
    inspect(cache, { depth: 5 }),
    JSON.stringify(cache),
    inspect(manager, { depth: 5 }),
    inspect(manager.options),
    JSON.stringify(coerceSessionParams({ secret: SECRET })),
  ];

  it.each(shown.map((text, index) => [index, text]))(
    'masks every secret and password (%i)',
    (_index, text) => {
      for (const value of [SECRET, VALIDATE, ENCRYPT, PASSWORD]) expect(text).not.toContain(value);
    },
  );

  it('still shows the rest, and keeps the values usable', () => {
    expect(inspect(session)).toContain("secret: '[redacted: 40 characters]'");
    expect(inspect(session)).toContain('redis://:***@127.0.0.1:6379/0');
    const serialized = JSON.parse(JSON.stringify(cache)) as {
      cache_regions: Record<string, { url: string }>;
    };
    expect(serialized.cache_regions.short?.url).toBe('redis://user:***@10.0.0.1:6379/1');
    expect(session.secret).toBe(SECRET);
    expect(session.url).toBe(`redis://:${PASSWORD}@127.0.0.1:6379/0`);
  });
});
