/**
 * Sealing session data and signing values.
 *
 * Modern (the default): AES-256-GCM with a random 96-bit IV, under keys derived once from each secret with
 * HKDF-SHA256; signatures are HMAC-SHA256. Several secrets may be given: the first seals and signs, all open and
 * verify, and the caller is told when an older one was used so that it can re-seal.
 *
 * Beaker-compatible (`crypto_type = pycrypto | cryptography`): byte for byte what Python Beaker writes, so that a
 * Node service and a Beaker application can share cookies.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { TamperedValueError } from '../shared/errors.js';

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const SEAL_VERSION = 'b1';
const SEAL_PREFIX = `${SEAL_VERSION}.`;

/** A value that failed its signature or authentication check, or was not in the expected format. */

/** Compares two strings in constant time for equal lengths (lengths are not secret). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Keys derived once from the configured secrets, newest first. */
export class KeyRing {
  readonly #aead: Buffer[];
  readonly #mac: Buffer[];

  constructor(secrets: readonly string[], purpose: string) {
    this.#aead = secrets.map((secret) => derive(secret, `beaker-ts ${purpose} aes-256-gcm`));
    this.#mac = secrets.map((secret) => derive(secret, `beaker-ts ${purpose} hmac-sha256`));
  }

  /** Seals `plaintext`: `b1.` + base64url(IV ‖ ciphertext ‖ tag). */
  seal(plaintext: Buffer): string {
    const iv = randomBytes(GCM_IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#aead[0] as Buffer, iv);
    const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${SEAL_PREFIX}${body.toString('base64url')}`;
  }

  /** Opens a sealed value with any of the keys; `rotated` tells that an older key was needed. */
  open(sealed: string): { plaintext: Buffer; rotated: boolean } {
    if (!sealed.startsWith(SEAL_PREFIX)) throw new TamperedValueError('not a sealed value');
    const text = sealed.slice(SEAL_PREFIX.length);
    const body = Buffer.from(text, 'base64url');
    // Node's decoder skips what is not in the alphabet (a `!`, a trailing `=`): only the exact text seal() writes
    // opens, so that any change to a cookie fails.
    if (body.toString('base64url') !== text) throw new TamperedValueError('sealed value is not canonical');
    if (body.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new TamperedValueError('sealed value too short');
    const iv = body.subarray(0, GCM_IV_BYTES);
    const tag = body.subarray(body.length - GCM_TAG_BYTES);
    const ciphertext = body.subarray(GCM_IV_BYTES, body.length - GCM_TAG_BYTES);
    const keys = this.#aead;
    for (let index = 0; index < keys.length; index += 1) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', keys[index] as Buffer, iv);
        decipher.setAuthTag(tag);
        const plaintext = decipher.update(ciphertext);
        // GCM gives everything from update(); final() only authenticates (no copy unless it gave bytes).
        const rest = decipher.final();
        return {
          plaintext: rest.length === 0 ? plaintext : Buffer.concat([plaintext, rest]),
          rotated: index > 0,
        };
      } catch {
        // Not this key: try the next one.
      }
    }
    throw new TamperedValueError('sealed value failed authentication');
  }

  /** `value.signature`, signed with the newest key. */
  sign(value: string): string {
    return `${value}.${mac(this.#mac[0] as Buffer, value)}`;
  }

  /** The value of a signed string, or undefined when no key verifies it. */
  unsign(signed: string): { value: string; rotated: boolean } | undefined {
    const dot = signed.lastIndexOf('.');
    if (dot < 0) return undefined;
    const value = signed.slice(0, dot);
    const signature = signed.slice(dot + 1);
    const keys = this.#mac;
    for (let index = 0; index < keys.length; index += 1) {
      if (safeEqual(mac(keys[index] as Buffer, value), signature)) return { value, rotated: index > 0 };
    }
    return undefined;
  }
}

function derive(secret: string, info: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret), Buffer.from('beaker-ts'), Buffer.from(info), 32),
  );
}

function mac(key: Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

// ---- Beaker's formats -------------------------------------------------------------------------------------------

/** Beaker's signed cookie value: 40 hex characters of HMAC-SHA1(key, value), then the value. */
export function beakerSign(key: string, value: string): string {
  return `${createHmac('sha1', key).update(value).digest('hex')}${value}`;
}

/** The value of a Beaker-signed cookie, trying each key; undefined when none verifies. */
export function beakerUnsign(
  keys: readonly string[],
  signed: string,
): { value: string; rotated: boolean; key: string } | undefined {
  const unquoted =
    signed.length >= 2 && signed.startsWith('"') && signed.endsWith('"') ? signed.slice(1, -1) : signed;
  if (unquoted.length < 40) return undefined;
  const value = unquoted.slice(40);
  const signature = unquoted.slice(0, 40);
  const index = keys.findIndex((key) =>
    safeEqual(createHmac('sha1', key).update(value).digest('hex'), signature),
  );
  return index < 0 ? undefined : { value, rotated: index > 0, key: keys[index] as string };
}

/** Beaker's cipher choices. */
export type BeakerCipher = 'pycrypto' | 'cryptography';

/** The base64 length of Beaker's nonce text for `nonceBytes` random bytes (24 for 16 bytes). */
function nonceTextLength(nonceBytes: number): number {
  return (Math.floor((nonceBytes * 4) / 3) + 3) & ~3;
}

function beakerKey(encryptKey: string, validateKey: string, nonceText: string): Buffer {
  return pbkdf2Sync(
    Buffer.from(encryptKey, 'ascii'),
    Buffer.from(validateKey + nonceText, 'ascii'),
    1,
    32,
    'sha1',
  );
}

/** Options of Beaker's session encoding. */
export interface BeakerEncoding {
  cipher: BeakerCipher;
  validateKey: string;
  /** Without it the payload is only signed, not encrypted (base64 of zlib JSON). */
  encryptKey?: string;
  /** Nonce size in bits (Beaker's `encrypt_nonce_bits`). */
  nonceBits: number;
}

/** Beaker's session string for JSON `data`: base64(zlib(JSON)), or nonce + base64(cipher(zlib(JSON))). */
export function beakerEncode(data: unknown, encoding: BeakerEncoding): string {
  const serialized = deflateSync(Buffer.from(JSON.stringify(data), 'utf8'));
  if (encoding.encryptKey === undefined) return serialized.toString('base64');
  const nonceBytes = encoding.nonceBits / 8;
  const nonceText = randomBytes(nonceBytes).toString('base64').slice(0, nonceTextLength(nonceBytes));
  const key = beakerKey(encoding.encryptKey, encoding.validateKey, nonceText);
  let ciphertext: Buffer;
  if (encoding.cipher === 'pycrypto') {
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    ciphertext = Buffer.concat([cipher.update(serialized), cipher.final()]);
  } else {
    const iv = randomBytes(GCM_IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const encrypted = Buffer.concat([cipher.update(serialized), cipher.final()]);
    ciphertext = Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
  }
  return nonceText + ciphertext.toString('base64');
}

/** Decodes Beaker's session string into its JSON data; throws when it cannot. */
export function beakerDecode(text: string, encoding: BeakerEncoding): unknown {
  let serialized: Buffer;
  if (encoding.encryptKey === undefined) {
    serialized = Buffer.from(text, 'base64');
  } else {
    const length = nonceTextLength(encoding.nonceBits / 8);
    const key = beakerKey(encoding.encryptKey, encoding.validateKey, text.slice(0, length));
    const ciphertext = Buffer.from(text.slice(length), 'base64');
    if (encoding.cipher === 'pycrypto') {
      const decipher = createDecipheriv('aes-256-ctr', key, Buffer.alloc(16));
      serialized = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } else {
      if (ciphertext.length < GCM_IV_BYTES + GCM_TAG_BYTES)
        throw new TamperedValueError('ciphertext too short');
      const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, GCM_IV_BYTES));
      decipher.setAuthTag(ciphertext.subarray(GCM_IV_BYTES, GCM_IV_BYTES + GCM_TAG_BYTES));
      serialized = Buffer.concat([
        decipher.update(ciphertext.subarray(GCM_IV_BYTES + GCM_TAG_BYTES)),
        decipher.final(),
      ]);
    }
  }
  return JSON.parse(inflateSync(serialized, { maxOutputLength: 1 << 20 }).toString('utf8')) as unknown;
}
