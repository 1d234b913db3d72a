import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { callsRoutes } from '../../src/api/calls-routes.js';
import { configRoutes } from '../../src/api/config-routes.js';
import { registerOpenApi } from '../../src/api/openapi.js';
import { ttsCacheRoutes } from '../../src/api/tts-cache-routes.js';
import { RuntimeConfig } from '../../src/config/runtime-config.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { CallRetention } from '../../src/store/retention.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('OpenAPI document of the management routes', (ctx) => {
  it('serves /docs/json with every route, its scope as the OAuth requirement, zod-derived schemas, and the UI at /docs', async () => {
    const { store } = ctx;
    const logger = silentLogger();
    const app = Fastify();
    await registerOpenApi(app, { version: '9.9.9', publicUrl: 'https://voxgate.example.com' });
    app.get('/health', async () => ({ status: 'ok' }));
    const config = await RuntimeConfig.open({ file: configSchema.parse({}), entries: new ConfigRepository(store.db) });
    const retention = new CallRetention({ store, settings: new ConfigRepository(store.db), recordingsDir: '/x' });
    await app.register(callsRoutes, { prefix: '/api/v1', store, live: { list: () => [] }, retention, recordingsDir: '/x', logger });
    await app.register(configRoutes, { prefix: '/api/v1', config, logger });
    await app.register(ttsCacheRoutes, { prefix: '/api/v1', cache: undefined, logger });
    await app.ready();

    const res = await app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.info).toMatchObject({ title: 'Voxgate management API', version: '9.9.9' });
    expect(doc.servers).toEqual([{ url: 'https://voxgate.example.com' }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.scopes).toHaveProperty('calls:read');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/calls', '/api/v1/calls/live', '/api/v1/calls/{id}', '/api/v1/calls/{id}/recordings/{n}', '/api/v1/bots/{name}', '/api/v1/routes/{number}', '/api/v1/providers/{section}', '/api/v1/tts-cache/clear', '/api/v1/settings/retention', '/api/v1/calls/purge']));
    expect(doc.paths['/health']).toBeUndefined();
    const history = doc.paths['/api/v1/calls'].get;
    expect(history.tags).toEqual(['calls']);
    expect(history.security).toEqual([{ bearer: [] }, { oauth2: ['calls:read'] }]);
    expect(history.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['from', 'to', 'number', 'bot', 'direction', 'reason', 'minDurationMs', 'maxDurationMs', 'limit', 'cursor']));
    expect(doc.paths['/api/v1/bots/{name}'].put.security).toEqual([{ bearer: [] }, { oauth2: ['bots:write'] }]);
    expect(doc.paths['/api/v1/bots/{name}'].put.requestBody.content['application/json'].schema.properties).toHaveProperty('extends');
    expect(doc.paths['/api/v1/calls/purge'].post.security).toEqual([{ bearer: [] }, { oauth2: ['admin'] }]);

    const ui = await app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    await app.close();
  });
});
