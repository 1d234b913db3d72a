import { ConfigError } from './config-error.js';
import { z } from 'zod';

/** A secret: inline (tests, local setups) or, better, the name of an environment variable holding it. */
export const secretSchema = z.union([z.string().min(1), z.object({ env: z.string().min(1) }).strict()]);
export type SecretRef = z.infer<typeof secretSchema>;

/** The value of a secret given inline or as `{ env: NAME }`; a missing variable is a config error naming `key`. */
export function resolveSecret(ref: SecretRef | undefined, key: string, env: NodeJS.ProcessEnv): string | undefined {
  if (ref === undefined || typeof ref === 'string') return ref;
  const value = env[ref.env];
  if (!value) throw new ConfigError(`invalid configuration: ${key}: environment variable ${ref.env} is not set`);
  return value;
}
