/** Shared pieces of the Twilio simulator tests: a testbed, credentials, a REST helper, signature checks, event-loop waits. */
import { afterEach, beforeEach } from 'vitest';
import twilio from 'twilio';
import type { TtsProvider } from '../../src/speech/tts/provider.js';
import type { TimelineEvent } from '../../src/sim/timeline.js';
import type { TwilioCall } from '../../src/sim/twilio/twilio-call.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import { FakeClock } from '../support/fake-clock.js';
import { FakePlivoApp, FakeStreamServer, type CapturedRequest } from '../support/sim-app-server.js';

export const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
export const AUTH_TOKEN = 'twilio-sim-token';
export const API = `/2010-04-01/Accounts/${ACCOUNT_SID}`;

const basicAuth = (user = ACCOUNT_SID, password = AUTH_TOKEN) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A form POST (or GET when `form` is undefined) to the simulator's REST API, answered as JSON. */
export async function rest(
  restBaseUrl: string,
  path: string,
  form?: Record<string, string | string[]>,
  auth: string = basicAuth(),
): Promise<{ status: number; body: Record<string, unknown> }> {
  let body: string | undefined;
  if (form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const value of Array.isArray(v) ? v : [v]) params.append(k, value);
    body = params.toString();
  }
  const res = await fetch(`${restBaseUrl}${path}`, {
    method: form ? 'POST' : 'GET',
    headers: { Authorization: auth, ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export { basicAuth };

/** True when the request carries Twilio's signature of its URL and form, checked by the twilio package. */
export function signedByTwilio(r: CapturedRequest): boolean {
  return twilio.validateRequest(AUTH_TOKEN, String(r.headers['x-twilio-signature']), r.url, r.method === 'POST' ? r.params : {});
}

/** Resolves once `predicate` holds, checking on every turn of the event loop (no wall-clock sleeps). */
export async function eventually(predicate: () => boolean, turns = 200_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error('condition never held');
}

/** Resolves with the first timeline event of `call` matching `predicate`, already recorded or yet to come. */
export function timelineEvent(call: TwilioCall, predicate: (e: TimelineEvent) => boolean): Promise<TimelineEvent> {
  const seen = call.timeline.find(predicate);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const listener = (e: TimelineEvent) => {
      if (!predicate(e)) return;
      call.off('timeline', listener);
      resolve(e);
    };
    call.on('timeline', listener);
  });
}

/** Resolves once `call` started executing `verb` (its timers are set by then, so a fake clock can move on). */
export const verbStarted = (call: TwilioCall, verb: string) => timelineEvent(call, (e) => e.type === 'xml' && e.verb === verb);

/** Moves a fake clock on in 20 ms steps, letting I/O run between steps, until `done` holds (at most `maxMs`). */
export async function advanceUntil(clock: FakeClock, done: () => boolean, maxMs = 60_000): Promise<void> {
  for (let elapsed = 0; !done(); elapsed += 20) {
    if (elapsed > maxMs) throw new Error(`condition did not hold within ${maxMs} ms of simulated time`);
    clock.advance(20);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface TestbedOptions {
  /** Run on a FakeClock (default) or on the system clock. */
  fakeClock?: boolean;
  /** The fake clock's start (epoch ms). */
  startAt?: number;
  tts?: TtsProvider;
  voiceUrlRetryDelayMs?: number;
  outboundCallsPerSecond?: number;
  /** Also start a WebSocket server playing the stream endpoint. */
  streams?: boolean;
}

export interface Testbed {
  sim: TwilioSimulator;
  clock: FakeClock;
  /** The application (voice URLs, actions, callbacks). */
  app: FakePlivoApp;
  streams: FakeStreamServer;
  /** The simulator's REST base URL. */
  base: string;
  /** Replaces the simulator with one made with other options (the application stays). */
  restart(options: TestbedOptions): Promise<void>;
}

/**
 * Registers hooks that give every test a listening TwilioSimulator (on a fake clock unless told
 * otherwise), a loopback application and, on request, a stream endpoint, and close them all after it.
 */
export function twilioTestbed(options: TestbedOptions = {}): Testbed {
  const bed = {} as Testbed;
  const startSim = async (opts: TestbedOptions) => {
    bed.clock = new FakeClock(opts.startAt);
    bed.sim = new TwilioSimulator({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      clock: opts.fakeClock === false ? undefined : bed.clock,
      tts: opts.tts,
      voiceUrlRetryDelayMs: opts.voiceUrlRetryDelayMs,
      outboundCallsPerSecond: opts.outboundCallsPerSecond,
    });
    bed.base = (await bed.sim.listen()).restBaseUrl;
  };
  bed.restart = async (opts) => {
    await bed.sim.close();
    await startSim({ ...options, ...opts });
  };
  beforeEach(async () => {
    await startSim(options);
    bed.app = new FakePlivoApp();
    await bed.app.listen();
    bed.streams = new FakeStreamServer();
    if (options.streams) await bed.streams.listen();
  });
  afterEach(async () => {
    await bed.sim.close();
    await bed.streams.close();
    await bed.app.close();
  });
  return bed;
}
