/**
 * The management API's authentication on a real loopback HTTP server: the token endpoint, scope
 * enforcement and the clients routes over a SQLite file store, with requests sent from chosen
 * loopback addresses (127.0.0.x), so per-source limits see distinct sources.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { ApiAuth, type ApiAuthOptions } from '../../src/api/auth/api-auth.js';
import { scopeEnforcement } from '../../src/api/auth/scope-enforcement.js';
import { oauthTokenRoutes } from '../../src/api/auth/token-endpoint.js';
import { clientsRoutes } from '../../src/api/clients-routes.js';
import type { Logger } from '../../src/logger.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { makeTempDir, type TempDir } from './store-fixtures.js';

export interface AuthServer {
  url: string;
  auth: ApiAuth;
  store: Store;
  close(): Promise<void>;
}

export async function startAuthServer(opts: Omit<ApiAuthOptions, 'db'> & { logger: Logger; dir?: TempDir }): Promise<AuthServer> {
  const dir = opts.dir ?? (await makeTempDir('voxgate-auth-'));
  const store = await openDatabase({ dataDir: dir.path });
  const auth = await ApiAuth.create({ ...opts, db: store.db });
  const app: FastifyInstance = Fastify();
  await app.register(oauthTokenRoutes, { auth, logger: opts.logger });
  await app.register(async (api) => {
    await api.register(scopeEnforcement, { auth, logger: opts.logger });
    await api.register(clientsRoutes, { prefix: '/api/v1/clients', auth, logger: opts.logger });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    auth,
    store,
    async close() {
      await app.close();
      await auth.close();
      await store.close();
      if (!opts.dir) await dir.remove();
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
}

/** An HTTP request whose socket is bound to `from` (a 127.0.0.x address): the server sees that source. */
export function requestFrom(from: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          json = { text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** POST /oauth/token with client_secret_post, from `from`. */
export function tokenRequest(server: { url: string }, from: string, clientId: string, clientSecret: string): Promise<HttpAnswer> {
  return requestFrom(from, `${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });
}

/** GET /api/v1/clients with a bearer token, from `from`. */
export function apiRequest(server: { url: string }, from: string, token: string): Promise<HttpAnswer> {
  return requestFrom(from, `${server.url}/api/v1/clients`, { headers: { authorization: `Bearer ${token}` } });
}
