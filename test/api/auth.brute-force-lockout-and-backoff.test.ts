import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifySecret } from '../../src/api/auth/secret-hash.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { apiRequest, requestFrom, startAuthServer, tokenRequest, type AuthServer } from '../support/auth-server.js';

const ADMIN = 'static-admin-token-for-brute-force-tests';
const LIMITS = {
  source: { maxFailures: 3, baseLockoutMs: 60_000, maxLockoutMs: 3_600_000 },
  client: { maxFailures: 3, baseLockoutMs: 1000, maxLockoutMs: 30_000 },
  tokenRequestsPerMinute: 1000,
};

describe('failed authentications are limited per source address, with backoff', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  let server: AuthServer;
  let verifications = 0;
  let client: { id: string; secret: string };
  // Each test guesses at its own client, so one test's per-client slowdown does not reach the next.
  const newClient = async (name: string) => {
    const created = await server.auth.clients.create({ name, scopes: ['calls:read', 'clients:read'] });
    client = { id: created.client.clientId, secret: created.clientSecret };
    return client;
  };

  beforeAll(async () => {
    server = await startAuthServer({
      logger: logs.logger,
      clock,
      staticToken: ADMIN,
      limits: LIMITS,
      verifySecret: (secret, stored) => {
        verifications++;
        return verifySecret(secret, stored);
      },
    });
  });
  afterAll(async () => server.close());

  it('wrong client secrets from one address: 429 with Retry-After at the limit, each further failure doubles the lockout, no secret is checked while locked out', async () => {
    const from = '127.0.0.2';
    await newClient('crm');
    for (let i = 0; i < 3; i++) expect((await tokenRequest(server, from, client.id, 'wrong')).status).toBe(401);

    const checksBefore = verifications;
    const locked = await tokenRequest(server, from, client.id, client.secret);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('60');
    expect(locked.json).toEqual({ error: 'too_many_requests', error_description: 'too many failed client authentications from this address; retry after 60 s' });
    expect(verifications).toBe(checksBefore);

    clock.advance(60_000);
    expect((await tokenRequest(server, from, client.id, 'wrong again')).status).toBe(401);
    expect((await tokenRequest(server, from, client.id, client.secret)).headers['retry-after']).toBe('120');
    clock.advance(120_000);
    expect((await tokenRequest(server, from, client.id, 'and again')).status).toBe(401);
    expect((await tokenRequest(server, from, client.id, client.secret)).headers['retry-after']).toBe('240');
    expect(logs.lines.some((l) => l.msg === 'OAuth client authentication refused: too many failures' && l.ip === from && l.limitedBy === 'source')).toBe(true);
  });

  it('a success resets the address: failures below the limit, then the right secret, start the count again', async () => {
    const from = '127.0.0.3';
    await newClient('typist');
    for (let round = 0; round < 3; round++) {
      expect((await tokenRequest(server, from, client.id, 'typo')).status).toBe(401);
      expect((await tokenRequest(server, from, client.id, 'typo')).status).toBe(401);
      expect((await tokenRequest(server, from, client.id, client.secret)).status).toBe(200);
    }
  });

  it('guesses at one client id from many addresses slow other addresses for that id (capped), never the address the client authenticated from before', async () => {
    const target = await newClient('billing');
    expect((await tokenRequest(server, '127.0.0.10', target.id, target.secret)).status).toBe(200);

    // One guess per address: no address comes near its own limit.
    for (let i = 0; i < 3; i++) expect((await tokenRequest(server, `127.0.1.${i + 1}`, target.id, `guess-${i}`)).status).toBe(401);
    const guess = await tokenRequest(server, '127.0.1.4', target.id, 'guess-3');
    expect(guess.status).toBe(429);
    expect(guess.json.error_description).toBe('too many failed client authentications for this client_id; retry after 1 s');
    const elsewhere = await tokenRequest(server, '127.0.0.20', target.id, target.secret);
    expect(elsewhere.status).toBe(429);
    expect((await tokenRequest(server, '127.0.0.10', target.id, target.secret)).status).toBe(200);

    // However long the guessing goes on, the wait for that id doubles up to its cap (30 s), no further.
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      clock.advance(30_000);
      expect((await tokenRequest(server, `127.0.2.${i + 1}`, target.id, 'more guessing')).status).toBe(401);
      waits.push(Number((await tokenRequest(server, '127.0.0.21', target.id, target.secret)).headers['retry-after']));
    }
    expect(waits).toEqual([2, 4, 8, 16, 30, 30, 30, 30]);
    clock.advance(30_000);
    expect((await tokenRequest(server, '127.0.0.21', target.id, target.secret)).status).toBe(200);
  });

  it('bad bearer tokens and a wrong api.token lock the address out of the API; the admin token from another address still works', async () => {
    const from = '127.0.0.40';
    await newClient('dashboard');
    const wrongStatic = await apiRequest(server, from, 'not-the-admin-token');
    expect(wrongStatic.status).toBe(401);
    expect((await apiRequest(server, from, 'eyJhbGciOiJIUzI1NiJ9.e30.forged')).status).toBe(401);
    const basic = await fetch(`${server.url}/api/v1/clients`, { headers: { authorization: `Basic ${Buffer.from('x:wrong').toString('base64')}` } });
    expect(basic.status).toBe(401);
    // (fetch comes from 127.0.0.1: that failure counts there, not here; one more here.)
    expect((await apiRequest(server, from, 'another-guess')).status).toBe(401);

    const locked = await apiRequest(server, from, ADMIN);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('60');
    expect(locked.json).toEqual({ error: 'too many failed authentications from this address; retry after 60 s' });
    // The address is locked out of the token endpoint too: one guesser, one lockout.
    expect((await tokenRequest(server, from, client.id, client.secret)).status).toBe(429);

    expect((await apiRequest(server, '127.0.0.41', ADMIN)).status).toBe(200);
    const token = (await tokenRequest(server, '127.0.0.41', client.id, client.secret)).json.access_token as string;
    expect((await apiRequest(server, '127.0.0.41', token)).status).toBe(200);
  });

  it('requests without credentials are answered 401 but are no failed guesses', async () => {
    const from = '127.0.0.42';
    for (let i = 0; i < 5; i++) expect((await requestFrom(from, `${server.url}/api/v1/clients`)).status).toBe(401);
    expect((await apiRequest(server, from, ADMIN)).status).toBe(200);
  });

  it('an unknown client id runs the same secret check as a wrong secret, gets the same answer, and counts the same', async () => {
    const from = '127.0.0.50';
    await newClient('enumerated');
    const before = verifications;
    const unknown = await tokenRequest(server, from, 'vgc_000000000000000000000000', 'whatever');
    expect(verifications).toBe(before + 1);
    const wrong = await tokenRequest(server, '127.0.0.51', client.id, 'whatever');
    expect(verifications).toBe(before + 2);
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual(wrong.json);
    expect(unknown.json).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    expect(Object.keys(unknown.headers).filter((h) => h !== 'date').sort()).toEqual(Object.keys(wrong.headers).filter((h) => h !== 'date').sort());

    await tokenRequest(server, from, 'vgc_111111111111111111111111', 'whatever');
    await tokenRequest(server, from, 'vgc_222222222222222222222222', 'whatever');
    expect((await tokenRequest(server, from, client.id, client.secret)).status).toBe(429);
  });
});

describe('the work unauthenticated callers can cause is bounded', () => {
  const logs = captureLogger();
  let server: AuthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('at most maxConcurrentHashChecks secret checks run and maxQueuedHashChecks wait; one more is refused at once with 503 and Retry-After', async () => {
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let running = 0;
    let mostRunning = 0;
    server = await startAuthServer({
      logger: logs.logger,
      limits: { maxConcurrentHashChecks: 1, maxQueuedHashChecks: 1 },
      verifySecret: async (secret, stored) => {
        mostRunning = Math.max(mostRunning, ++running);
        started();
        await released;
        running--;
        return verifySecret(secret, stored);
      },
    });
    const created = await server.auth.clients.create({ name: 'worker', scopes: ['calls:read'] });
    const first = tokenRequest(server, '127.0.0.60', created.client.clientId, created.clientSecret);
    await firstStarted;
    const second = tokenRequest(server, '127.0.0.61', created.client.clientId, created.clientSecret);
    const third = tokenRequest(server, '127.0.0.62', created.client.clientId, created.clientSecret);
    // One of the two queues behind the first; the other finds the queue full and is answered first.
    const refused = await Promise.race([second, third]);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/too many client secret checks in progress \(1 running, 1 waiting\)/) });
    release();
    const statuses = (await Promise.all([first, second, third])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503]);
    expect(mostRunning).toBe(1);
  });

  it('token requests per address are capped per minute whether they succeed or not (@fastify/rate-limit); other addresses go on', async () => {
    server = await startAuthServer({ logger: logs.logger, limits: { tokenRequestsPerMinute: 2 } });
    const created = await server.auth.clients.create({ name: 'chatty', scopes: ['calls:read'] });
    const ask = (from: string) => tokenRequest(server!, from, created.client.clientId, created.clientSecret);
    expect((await ask('127.0.0.70')).status).toBe(200);
    expect((await ask('127.0.0.70')).status).toBe(200);
    const capped = await ask('127.0.0.70');
    expect(capped.status).toBe(429);
    expect(Number(capped.headers['retry-after'])).toBeGreaterThan(0);
    expect(capped.json).toMatchObject({ error: 'too_many_requests', error_description: expect.stringMatching(/at most 2 a minute/) });
    expect((await ask('127.0.0.71')).status).toBe(200);
  });
});
