/**
 * Interoperability with Python Beaker itself (Debian python3-beaker, python3-cryptography, python3-pycryptodome):
 * cookie sessions written by one are read by the other, in both directions, for `crypto_type = cryptography` and
 * `pycrypto`, encrypted or only signed, with the json serializer; and signed server-side id cookies.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SessionManager } from '../../src/session/index.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { PYTHON } from '../oracle/oracle.js';

const SCRIPT = fileURLToPath(new URL('../oracle/beaker_session_oracle.py', import.meta.url));

function unavailable(): string | undefined {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import beaker, beaker.crypto.pyca_cryptography, beaker.crypto.pycrypto'],
    {
      encoding: 'utf8',
    },
  );
  if (probe.error) return `${PYTHON} cannot be run`;
  return probe.status === 0
    ? undefined
    : 'Python Beaker with its crypto modules is missing: apt-get install python3-beaker python3-cryptography python3-pycryptodome';
}

type PythonResult = { ok: unknown } | { error: string };

function python(requests: unknown[]): PythonResult[] {
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(requests), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as PythonResult[];
}

function okOf(result: PythonResult | undefined): unknown {
  if (!result || 'error' in result) throw new Error(`Python Beaker failed: ${JSON.stringify(result)}`);
  return result.ok;
}

// The keys an existing Beaker deployment might have: shorter than 32 bytes, so allow_short_keys is needed.
const VALIDATE_KEY = 'hoobermas';
const ENCRYPT_KEY = '666a19cf7f61c64c';

const VARIANTS: [string, Record<string, unknown>][] = [
  ['cryptography (AES-GCM), encrypted', { crypto_type: 'cryptography', encrypt_key: ENCRYPT_KEY }],
  ['pycrypto (AES-CTR), encrypted', { crypto_type: 'pycrypto', encrypt_key: ENCRYPT_KEY }],
  ['cryptography, signed only', { crypto_type: 'cryptography' }],
  [
    'pycrypto, 48-bit nonces (Beaker before 1.8)',
    { crypto_type: 'pycrypto', encrypt_key: ENCRYPT_KEY, encrypt_nonce_bits: 48 },
  ],
];

const DATA = { value: 2, name: 'Español 日本語', list: [1, 'two'], nested: { ok: true } };

describeWhenAvailable('Python Beaker interoperability', unavailable(), () => {
  it.each(VARIANTS)('%s: a cookie written by Python Beaker is read here', async (_label, variant) => {
    const pythonOptions = { validate_key: VALIDATE_KEY, data_serializer: 'json' as const, ...variant };
    const setCookie = okOf(python([{ op: 'write', options: pythonOptions, data: DATA }])[0]) as string;
    const cookie = setCookie.split(';')[0] ?? '';
    const manager = new SessionManager({ type: 'cookie', allow_short_keys: true, ...pythonOptions });
    const session = manager.session<typeof DATA>(cookie);
    expect(await session.all()).toEqual(DATA);
    expect(session.isNew).toBe(false);
  });

  it.each(VARIANTS)('%s: a cookie written here is read by Python Beaker', async (_label, variant) => {
    const options = { validate_key: VALIDATE_KEY, data_serializer: 'json' as const, ...variant };
    const manager = new SessionManager({ type: 'cookie', allow_short_keys: true, ...options });
    const session = manager.session<typeof DATA>(undefined);
    for (const [key, value] of Object.entries(DATA)) await session.set(key as keyof typeof DATA, value);
    await session.save();
    const cookie = session.setCookieHeaders()[0]?.split(';')[0] ?? '';
    const read = okOf(python([{ op: 'read', options, cookie }])[0]) as Record<string, unknown>;
    expect(read).toMatchObject({ ...DATA, _id: session.id });
    expect(read._creation_time).toBeCloseTo(session.created.getTime() / 1000, 2);
  });

  it('refuses, like Beaker, a cookie signed with another validate_key', async () => {
    const setCookie = okOf(
      python([
        {
          op: 'write',
          options: { validate_key: 'another key', data_serializer: 'json', crypto_type: 'cryptography' },
          data: DATA,
        },
      ])[0],
    ) as string;
    const manager = new SessionManager({
      type: 'cookie',
      validate_key: VALIDATE_KEY,
      crypto_type: 'cryptography',
      allow_short_keys: true,
      onEvent: () => undefined,
    });
    const session = manager.session(setCookie.split(';')[0]);
    expect(await session.all()).toEqual({});
    expect(session.isNew).toBe(true);
  });

  it('signs server-side id cookies in Beaker’s format, both ways', async () => {
    const secret = 'blah-blah-a-shared-secret';
    const manager = new SessionManager({ secret, crypto_type: 'cryptography', allow_short_keys: true });
    const session = manager.session<{ value: number }>(undefined);
    await session.set('value', 1);
    await session.save();
    const cookie = session.setCookieHeaders()[0]?.split(';')[0] ?? '';
    const [fromNode, signedByPython] = python([
      { op: 'server_id', secret, cookie },
      { op: 'sign_id', secret, id: session.id },
    ]);
    expect(okOf(fromNode)).toEqual({ id: session.id, is_new: true });
    expect(cookie).toBe(`beaker.session.id=${okOf(signedByPython) as string}`);
  });
});
