/**
 * The management API's OpenAPI document (GET /docs/json) and its browsable UI (/docs). Register it
 * before the /api route plugins: @fastify/swagger collects routes registered after it.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { SCOPES } from './auth/scopes.js';
import { TOKEN_ENDPOINT_PATH } from './auth/token-endpoint.js';
import { cspHeader, DOCS_CSP } from './security-headers.js';

export interface OpenApiOptions {
  /** Shown as the document's version; the package version by default. */
  version?: string;
  /** Where clients reach this server (the document's server entry). */
  publicUrl?: string;
  /** Where the UI is served. Default /docs. */
  routePrefix?: string;
}

const SCOPE_DESCRIPTIONS: Record<string, string> = { admin: 'everything, including retention and OAuth clients' };

export async function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions = {}): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Voxgate management API',
        description: 'Calls, bots, routes, providers, campaigns, alarms and API clients of a Voxgate voice-AI gateway. Each operation needs the scope named in its description; `admin` implies every scope.',
        version: opts.version ?? '0.1.0',
      },
      servers: opts.publicUrl ? [{ url: opts.publicUrl }] : [],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from the token endpoint (or the static api.token)' },
          oauth2: {
            type: 'oauth2',
            flows: {
              clientCredentials: {
                tokenUrl: TOKEN_ENDPOINT_PATH,
                scopes: Object.fromEntries(SCOPES.map((s) => [s, SCOPE_DESCRIPTIONS[s] ?? s])),
              },
            },
          },
        },
      },
      security: [{ bearer: [] }, { oauth2: [] }],
    },
    // The route's declared scope becomes its OAuth requirement in the document.
    transform: ({ schema, route, url }) => {
      const scope = (route.config as { scope?: string } | undefined)?.scope;
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (scope) {
        transformed.security = [{ bearer: [] }, { oauth2: [scope] }];
        transformed.description = [transformed.description, `Scope: \`${scope}\``].filter(Boolean).join('\n\n');
      }
      // Carrier callbacks and media streams are not part of the management API.
      if (!url.startsWith('/api/') && !url.startsWith('/oauth/')) transformed.hide = true;
      return { schema: transformed, url };
    },
  });
  // Its own policy (scoped to /docs by the plugin): Swagger UI needs inline styles, nothing else the console does not.
  await app.register(swaggerUi, { routePrefix: opts.routePrefix ?? '/docs', staticCSP: cspHeader(DOCS_CSP) });
}
