/**
 * Garbage in, a fresh session out: many thousands of generated Cookie headers (tampered, garbled, truncated,
 * oversized, duplicated, binary) never make a session throw, and over raw TCP never make the server answer 500.
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SessionMiddleware } from '../../src/adapters/node-http.js';
import { SessionManager } from '../../src/session/index.js';
import { ENCRYPT_KEY, SECRET, VALIDATE_KEY, cookieFrom, countingManager, request } from './helpers.js';

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const ALPHABETS = [
  'abcdef0123456789',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.',
  '=;, "\\\t%+/',
  '\u0000\u0001\u007f\u00ff',
  'ŏ日本語🎉',
];

function generator(valid: string, seed: number): () => string {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const noise = (length: number): string => {
    const alphabet = pick(ALPHABETS);
    return Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  };
  const [name, value] = [valid.slice(0, valid.indexOf('=')), valid.slice(valid.indexOf('=') + 1)];
  const mutations: (() => string)[] = [
    () => `${name}=${value.slice(0, Math.floor(next() * value.length))}`,
    () => {
      const at = Math.floor(next() * value.length);
      return `${name}=${value.slice(0, at)}${noise(1)}${value.slice(at + 1)}`;
    },
    () => `${name}=${noise(Math.floor(next() * 200))}`,
    () => `${name}=${value}; ${name}=${noise(20)}; ${name}=${value.slice(1)}`,
    () => `${name}=${value.repeat(1 + Math.floor(next() * 30))}`,
    () => noise(Math.floor(next() * 400)),
    () => `${noise(5)}=${noise(5)};${name}="${value}`,
    () => `${name}=${'A'.repeat(Math.floor(next() * 20_000))}`,
    () => Array.from({ length: 50 }, () => `${name}=${noise(10)}`).join('; '),
  ];
  return () => pick(mutations)();
}

describe.each([
  ['server-side', { secret: SECRET }],
  ['server-side, encrypted', { secret: SECRET, encrypt_key: ENCRYPT_KEY }],
  ['cookie', { type: 'cookie', validate_key: VALIDATE_KEY }],
  [
    'cookie, Beaker format',
    { type: 'cookie', validate_key: VALIDATE_KEY, encrypt_key: ENCRYPT_KEY, crypto_type: 'pycrypto' },
  ],
])('%s sessions under fuzzed Cookie headers', (_kind, options) => {
  it('gives a fresh, usable session for 5,000 generated headers, never an error', async () => {
    const { manager } = countingManager(options as Record<string, unknown>);
    const saved = await request<{ value: number }>(manager, undefined, async (session) => {
      await session.set('value', 41);
      await session.save();
    });
    const valid = cookieFrom(saved.setCookies) ?? '';
    const next = generator(valid, 20261128);
    let adopted = 0;
    for (let round = 0; round < 5000; round += 1) {
      const header = next();
      const session = manager.session<{ value: number }>(header);
      const value = await session.get('value');
      if (value === 41) adopted += 1;
      else expect(value).toBeUndefined();
      await session.set('value', 1);
      await session.persist();
      session.setCookieHeaders();
    }
    // Only headers that still carry the valid cookie whole (duplicates with it) may load the saved session.
    expect(adopted).toBeLessThan(5000);
  });
});

describe('the node:http adapter under fuzzed raw requests', () => {
  it('answers 200 or a client error for 600 raw requests with absurd Cookie headers, never 500', async () => {
    const manager = new SessionManager({
      type: 'cookie',
      validate_key: VALIDATE_KEY,
      onEvent: () => undefined,
    });
    const server = createServer(
      SessionMiddleware<{ n?: number }>(async (req, res) => {
        const n = ((await req.session.get('n')) ?? 0) + 1;
        await req.session.set('n', n);
        await req.session.save();
        res.end(String(n));
      }, manager),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const next = generator('beaker.session.id=b1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 7);
    const statuses = new Map<number, number>();
    try {
      for (let round = 0; round < 600; round += 1) {
        const cookie = next().replace(/[\r\n]/g, '');
        const status = await rawRequest(
          port,
          `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
        );
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    } finally {
      server.close();
    }
    expect(statuses.get(500)).toBeUndefined();
    expect([...statuses.keys()].every((status) => status === 200 || status === 400 || status === 431)).toBe(
      true,
    );
    expect(statuses.get(200)).toBeGreaterThan(400);
  }, 60_000);
});

/** Sends raw bytes and resolves to the response status (0 when the server closed without one). */
function rawRequest(port: number, text: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString('latin1')));
    socket.on('close', () => {
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0));
    });
    socket.on('error', () => {
      resolve(0);
    });
    socket.end(Buffer.from(text, 'latin1'));
  });
}
