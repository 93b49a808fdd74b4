/**
 * The Redis Cluster hash slot of a key, as the server computes it (`CLUSTER KEYSLOT`): CRC16 (XMODEM) of the key's
 * UTF-8 bytes, or of its hash tag (what stands between the first `{` and the next `}`, when that is not empty),
 * modulo 16384. A multi-key command whose keys are in different slots fails with CROSSSLOT: batch reads group by it.
 * @module
 */

const SLOTS = 16384;

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of `bytes`. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The part of `key` that is hashed: its hash tag when it has one, else the whole key. */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** The cluster slot of `key`, 0 to 16383. */
export function clusterSlot(key: string): number {
  return crc16(Buffer.from(hashedPart(key), 'utf8')) % SLOTS;
}
