/**
 * Client secrets are stored as scrypt hashes in a self-describing string:
 * `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the cost can be raised later
 * without invalidating secrets already issued.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const DEFAULT_COST = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;
/** 64 MiB: the most verification will spend (the default cost uses 16 MiB). */
const MAX_SCRYPT_BYTES = 64 * 1024 * 1024;

function scrypt(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string, cost: { N: number; r: number; p: number } = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(secret, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r * cost.p });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** False for a wrong secret and for a stored value that is not a hash this code wrote (never throws on it). */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  // A stored value with huge parameters would tie the server up for minutes: bound the work.
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || p > 16 || 128 * N * r * p > MAX_SCRYPT_BYTES) return false;
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  if (expected.length === 0) return false;
  try {
    const actual = await scrypt(secret, salt, expected.length, { N, r, p, maxmem: 256 * N * r * p });
    return timingSafeEqual(actual, expected);
  } catch {
    // Parameters node:crypto refuses (memory bound): not a hash this code wrote.
    return false;
  }
}

/** A hash of a random secret nobody knows: verified against when the client id is unknown, so timing does not tell ids apart. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  return (decoy ??= hashSecret(randomBytes(24).toString('base64url')));
}
