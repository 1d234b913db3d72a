/**
 * Encryption at rest for configuration stored through the API (bot and provider sections hold
 * vendor keys): AES-256-GCM with a key kept outside the database, so a database dump alone does not
 * reveal them. The key comes from `VOXGATE_SECRETS_KEY` (`secretsKey` in the file; 32 bytes as hex or
 * base64) or, failing that, from a key file created once next to the records (`<dataDir>/secrets.key`,
 * mode 0600). Processes sharing one PostgreSQL store must be given the same key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 'v1';
const KEY_BYTES = 32;

export class ConfigCipherError extends Error {}

/** Parses a 32-byte key written as 64 hex characters or base64. */
export function parseSecretsKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new ConfigCipherError(`${source}: the secrets key must be 32 bytes, as 64 hex characters or base64 (got ${key.length} bytes)`);
  return key;
}

/** The key file's key, creating the file (0600) with a random key the first time. */
export function keyFromFile(path: string): Buffer {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${randomBytes(KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseSecretsKey(readFileSync(path, 'utf8'), path);
}

export class ConfigCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new ConfigCipherError(`the secrets key must be ${KEY_BYTES} bytes`);
  }

  /** `v1:<iv>:<tag>:<ciphertext>`, all base64. */
  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
  }

  decrypt(sealed: string, what: string): string {
    const [version, iv, tag, data] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || data === undefined) throw new ConfigCipherError(`${what}: not a sealed value this version can read`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new ConfigCipherError(`${what}: cannot be decrypted with this secrets key (was it stored with another VOXGATE_SECRETS_KEY?)`);
    }
  }
}
