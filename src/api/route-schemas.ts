/**
 * Route schemas for the OpenAPI document, derived from the zod schemas the handlers validate with.
 * Fastify's own validation is switched off for these routes: zod stays the one validator, so error
 * bodies are `{ error: "field: expected" }` everywhere and strict objects report unknown fields
 * (Ajv's removeAdditional would silently drop them instead).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
// Brings in @fastify/swagger's FastifySchema fields (tags, summary) for the route options.
import type {} from '@fastify/swagger';

export function docSchema(schema: z.ZodTypeAny): Record<string, unknown> {
  // Query numbers are piped from their string form: the document shows the number they must be.
  return zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none', pipeStrategy: 'output' }) as Record<string, unknown>;
}

/** Schemas in this plugin describe, they do not validate (see the file comment). */
export function documentOnly(scope: FastifyInstance): void {
  scope.setValidatorCompiler(() => () => true);
}

/** "field: message" for each issue, the way every management route reports bad input. */
export function zodError(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const at = i.path.join('.');
      // Unknown fields are named themselves, not the object holding them.
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${at ? `${at}.` : ''}${k}: not a known field`).join('; ');
      return `${at || '(body)'}: ${i.message}`;
    })
    .join('; ');
}

/**
 * A whole number in a query string or path: digits only, within bounds, so "", "1e3", "0x10" and
 * "1e300" are refused by name instead of read as 0, 1000, 16, or a number the store cannot hold.
 */
export function queryInteger(min: number, max: number, what = `a whole number from ${min} to ${max}`) {
  const message = `expected ${what}`;
  return z
    .string({ invalid_type_error: `${message}, given once` })
    .regex(/^\d{1,16}$/, message)
    .pipe(z.coerce.number().int(message).min(min, message).max(max, message));
}

/** Epoch milliseconds in a query: a time the store can hold (a safe integer), never negative. */
export const queryEpochMs = queryInteger(0, Number.MAX_SAFE_INTEGER, 'epoch milliseconds (a whole number)');

/**
 * The value parsed, or undefined after answering 400 naming the field (an empty :name in
 * "/bots/" included): a throwing parse here would be a 500 for what is the client's mistake.
 */
export function parsedOr400<T extends z.ZodTypeAny>(schema: T, value: unknown, reply: FastifyReply): z.infer<T> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as z.infer<T>;
  void reply.code(400).send({ error: zodError(parsed.error) });
  return undefined;
}
