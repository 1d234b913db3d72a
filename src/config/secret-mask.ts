/**
 * Secrets in configuration read back through the API: inline secret values are replaced by a mask,
 * and a write may send the mask back to keep the secret already stored. Driven by the zod schema
 * (every `secretSchema` position), so a new provider's secrets are masked without a list to update.
 */
import { z } from 'zod';
import { secretSchema } from '../runtime/secrets.js';

export const SECRET_MASK = '***';

/** Header-like maps (an LLM tool's headers) carry credentials under these names. */
const SECRET_KEY_NAME = /authorization|token|secret|password|api[-_]?key|^key$/i;

/** The value with every inline secret replaced by the mask; `{ env: NAME }` references are kept (a name is no secret). */
export function maskSecrets(schema: z.ZodTypeAny, value: unknown): unknown {
  return walk(schema, value, (secret) => (typeof secret === 'string' ? SECRET_MASK : secret));
}

/**
 * `incoming` with each masked secret replaced by the value at the same place in `existing`.
 * Throws `MaskWithoutSecretError` naming the field when there is nothing to keep.
 */
export function restoreMaskedSecrets(schema: z.ZodTypeAny, incoming: unknown, existing: unknown): unknown {
  return walk(schema, incoming, (secret, path) => {
    if (secret !== SECRET_MASK) return secret;
    const kept = valueAt(existing, path);
    if (typeof kept === 'string' || isEnvRef(kept)) return kept;
    throw new MaskWithoutSecretError(path.join('.'));
  });
}

export class MaskWithoutSecretError extends Error {
  constructor(readonly field: string) {
    super(`${field}: "${SECRET_MASK}" keeps the stored secret, but none is stored here; send the secret or { env: NAME }`);
    this.name = 'MaskWithoutSecretError';
  }
}

type SecretVisitor = (value: unknown, path: (string | number)[]) => unknown;

function walk(schema: z.ZodTypeAny, value: unknown, visit: SecretVisitor, path: (string | number)[] = []): unknown {
  if (value === undefined || value === null) return value;
  if (schema === secretSchema) return visit(value, path);
  const def = schema._def as { typeName?: string };
  switch (def.typeName) {
    case 'ZodOptional':
    case 'ZodNullable':
      return walk((schema as z.ZodOptional<z.ZodTypeAny>).unwrap(), value, visit, path);
    case 'ZodDefault':
      return walk((schema as z.ZodDefault<z.ZodTypeAny>)._def.innerType, value, visit, path);
    case 'ZodEffects':
      return walk((schema as z.ZodEffects<z.ZodTypeAny>).innerType(), value, visit, path);
    case 'ZodObject': {
      if (!isPlainObject(value)) return value;
      const shape = (schema as z.AnyZodObject).shape as Record<string, z.ZodTypeAny>;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape[k] ? walk(shape[k], v, visit, [...path, k]) : v]));
    }
    case 'ZodArray': {
      if (!Array.isArray(value)) return value;
      const element = (schema as z.ZodArray<z.ZodTypeAny>).element;
      return value.map((v, i) => walk(element, v, visit, [...path, i]));
    }
    case 'ZodRecord': {
      if (!isPlainObject(value)) return value;
      const valueSchema = (schema as z.ZodRecord).valueSchema as z.ZodTypeAny;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, typeof v === 'string' && SECRET_KEY_NAME.test(k) ? visit(v, [...path, k]) : walk(valueSchema, v, visit, [...path, k])]),
      );
    }
    case 'ZodUnion': {
      // The option the value is written in decides where its secrets sit (service-account JSON vs key fields).
      const options = (schema as z.ZodUnion<[z.ZodTypeAny, ...z.ZodTypeAny[]]>).options;
      const matching = options.find((o) => o.safeParse(value).success);
      return matching ? walk(matching, value, visit, path) : value;
    }
    default:
      return value;
  }
}

function valueAt(root: unknown, path: (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function isEnvRef(value: unknown): boolean {
  return isPlainObject(value) && typeof value.env === 'string';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
