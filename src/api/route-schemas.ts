/**
 * Route schemas for the OpenAPI document, derived from the zod schemas the handlers validate with.
 * Fastify's own validation is switched off for these routes: zod stays the one validator, so error
 * bodies are `{ error: "field: expected" }` everywhere and strict objects report unknown fields
 * (Ajv's removeAdditional would silently drop them instead).
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
// Brings in @fastify/swagger's FastifySchema fields (tags, summary) for the route options.
import type {} from '@fastify/swagger';

export function docSchema(schema: z.ZodTypeAny): Record<string, unknown> {
  return zodToJsonSchema(schema, { target: 'openApi3', $refStrategy: 'none' }) as Record<string, unknown>;
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
