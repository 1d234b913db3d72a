import { ConfigError } from './load.js';
import type { SecretRef } from './schema.js';

/** The value of a secret given inline or as `{ env: NAME }`; a missing variable is a config error naming `key`. */
export function resolveSecret(ref: SecretRef | undefined, key: string, env: NodeJS.ProcessEnv): string | undefined {
  if (ref === undefined || typeof ref === 'string') return ref;
  const value = env[ref.env];
  if (!value) throw new ConfigError(`invalid configuration: ${key}: environment variable ${ref.env} is not set`);
  return value;
}
