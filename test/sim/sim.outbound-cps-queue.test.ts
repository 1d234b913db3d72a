import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlivoSimulator } from '../../src/sim/plivo-simulator.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp } from '../support/sim-app-server.js';

const AUTH_ID = 'MACPSQUEUE';
const AUTH_TOKEN = 'cps-token';
const auth = `Basic ${Buffer.from(`${AUTH_ID}:${AUTH_TOKEN}`).toString('base64')}`;
const T0 = 1_700_000_000_000;

interface Fired {
  api_id: string;
  message: string;
  request_uuid: string;
}

describe('outbound calls beyond the account calls-per-second limit', () => {
  let clock: FakeClock;
  let sim: PlivoSimulator;
  let app: FakePlivoApp;
  let rest: string;

  async function start(options: { outboundCallsPerSecond?: number; apiRateLimit?: { maxRequests: number; windowMs: number } } = {}) {
    clock = new FakeClock(T0);
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, clock, ...options });
    rest = (await sim.listen()).restBaseUrl;
  }

  const makeCall = async (to: string): Promise<Fired> => {
    const res = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/`, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: '14155550000', to, answer_url: app.url('/answer'), ring_url: app.url('/ring'), hangup_url: app.url('/hangup'), ring_timeout: 60 }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Fired;
  };
  const firedOffsets = () => sim.outboundFirings().map((f) => (f.firedAt === undefined ? undefined : f.firedAt - T0));
  const ringOf = (to: string) => app.waitFor('/ring', (r) => r.params.To === to);

  beforeEach(async () => {
    app = new FakePlivoApp();
    await app.listen();
    app.route('/ring', '').route('/hangup', '').route('/answer', '<Response><Wait length="60"/></Response>');
  });
  afterEach(async () => {
    await sim.close();
    await app.close();
  });

  it('queues calls beyond 2 per second ("call queued"), never refuses them, and fires them in request order at 2 per second', async () => {
    await start();
    const numbers = ['14155550101', '14155550102', '14155550103', '14155550104', '14155550105'];
    for (const n of numbers) sim.addCallee(n, { neverAnswer: true });
    const fired: Fired[] = [];
    for (const n of numbers) fired.push(await makeCall(n));
    expect(fired.map((f) => f.message)).toEqual(['call fired', 'call fired', 'call queued', 'call queued', 'call queued']);
    expect(firedOffsets()).toEqual([0, 0, undefined, undefined, undefined]);
    expect(sim.queuedCalls().map((c) => c.to)).toEqual(numbers.slice(2));

    clock.advance(0);
    await Promise.all([ringOf(numbers[0]), ringOf(numbers[1])]);
    clock.advance(999);
    expect(firedOffsets()).toEqual([0, 0, undefined, undefined, undefined]);
    clock.advance(1);
    expect(firedOffsets()).toEqual([0, 0, 1000, 1000, undefined]);
    await Promise.all([ringOf(numbers[2]), ringOf(numbers[3])]);
    clock.advance(1000);
    expect(firedOffsets()).toEqual([0, 0, 1000, 1000, 2000]);
    const lastRing = await ringOf(numbers[4]);
    expect(lastRing.params.RequestUUID).toBe(fired[4].request_uuid);

    // The rings reached the application in request order, and no second ever held more than 2 fires.
    expect(app.requests.filter((r) => r.path === '/ring').map((r) => r.params.To)).toEqual(numbers);
    const firedAt = sim.outboundFirings().map((f) => f.firedAt!);
    for (const t of firedAt) expect(firedAt.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(2);
    expect(sim.queuedCalls()).toHaveLength(0);
  });

  it('a dialer that paces itself at 2 calls per second is never queued, and the firings show the rate it achieved', async () => {
    await start();
    for (let i = 0; i < 6; i++) {
      sim.addCallee(`1415555020${i}`, { neverAnswer: true });
      const fired = await makeCall(`1415555020${i}`);
      expect(fired.message).toBe('call fired');
      clock.advance(500);
    }
    const firings = sim.outboundFirings();
    expect(firings.every((f) => f.firedAt === f.requestedAt)).toBe(true);
    const spanMs = firings[firings.length - 1].firedAt! - firings[0].firedAt!;
    expect((firings.length - 1) / (spanMs / 1000)).toBe(2);
  });

  it('a queued call canceled with DELETE ends as Canceled (1000, cancel) without ever ringing, and frees its place in the queue', async () => {
    await start();
    const numbers = ['14155550301', '14155550302', '14155550303', '14155550304'];
    for (const n of numbers) sim.addCallee(n, { neverAnswer: true });
    for (const n of numbers) await makeCall(n);
    const queued = sim.queuedCalls()[0];
    expect(queued.to).toBe(numbers[2]);
    const del = await fetch(`${rest}/v1/Account/${AUTH_ID}/Call/${queued.callUuid}/`, { method: 'DELETE', headers: { Authorization: auth } });
    expect(del.status).toBe(204);
    const hangup = await app.waitFor('/hangup', (r) => r.params.To === numbers[2]);
    expect(hangup.params).toMatchObject({ CallStatus: 'cancel', HangupCauseName: 'Canceled', HangupCauseCode: '1000', HangupSource: 'API Request', Duration: '0', RequestUUID: queued.requestUuid });

    clock.advance(1000);
    // The 4th request takes the slot; the canceled one was never fired.
    expect(firedOffsets()).toEqual([0, 0, undefined, 1000]);
    await ringOf(numbers[3]);
    expect(app.requests.some((r) => r.path === '/ring' && r.params.To === numbers[2])).toBe(false);
  });

  it('honours a higher calls-per-second option', async () => {
    await start({ outboundCallsPerSecond: 5 });
    const messages: string[] = [];
    for (let i = 0; i < 6; i++) {
      sim.addCallee(`1415555040${i}`, { neverAnswer: true });
      messages.push((await makeCall(`1415555040${i}`)).message);
    }
    expect(messages).toEqual([...Array<string>(5).fill('call fired'), 'call queued']);
    clock.advance(1000);
    expect(firedOffsets()).toEqual([0, 0, 0, 0, 0, 1000]);
  });

  it('rejects a bad calls-per-second option, naming it', () => {
    expect(() => new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, outboundCallsPerSecond: 0 })).toThrow(/outboundCallsPerSecond/);
  });
});

describe('REST API rate limit (300 requests per 5 seconds on Plivo)', () => {
  let sim: PlivoSimulator;
  let rest: string;
  afterEach(async () => sim.close());

  const hangupUnknown = () => fetch(`${rest}/v1/Account/${AUTH_ID}/Call/no-such-call/`, { method: 'DELETE', headers: { Authorization: auth } });

  it('answers 429 with Plivo\'s error body once the window is full, and lets requests through again when it slides', async () => {
    const clock = new FakeClock(T0);
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN, clock, apiRateLimit: { maxRequests: 3, windowMs: 5000 } });
    rest = (await sim.listen()).restBaseUrl;
    for (let i = 0; i < 3; i++) expect((await hangupUnknown()).status).toBe(404);
    const limited = await hangupUnknown();
    expect(limited.status).toBe(429);
    const body = (await limited.json()) as { api_id: string; error: string };
    expect(body.api_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error).toMatch(/too many requests/);
    clock.advance(4999);
    expect((await hangupUnknown()).status).toBe(429);
    clock.advance(1);
    expect((await hangupUnknown()).status).toBe(404);
  });

  it('is off by default: a burst of requests is never refused', async () => {
    sim = new PlivoSimulator({ authId: AUTH_ID, authToken: AUTH_TOKEN });
    rest = (await sim.listen()).restBaseUrl;
    const statuses = await Promise.all(Array.from({ length: 40 }, () => hangupUnknown().then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([404]));
  });
});
