/**
 * The whole service on loopback, as issue 13's end-to-end test runs it: the Plivo and Twilio
 * simulators, a real HAProxy, and Voxgate instances as separate processes sharing Redis and a fresh
 * PostgreSQL database. The carriers only know the load balancer's URL. Helpers read what a user
 * would: call records in PostgreSQL, the live view through an instance's API.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { PlivoSimulator, type SimCall } from '../../src/sim/plivo-simulator.js';
import { TwilioSimulator } from '../../src/sim/twilio/twilio-simulator.js';
import type { TwilioCall } from '../../src/sim/twilio/twilio-call.js';
import type { PartyScript } from '../../src/sim/virtual-party.js';
import { deleteRedisKeys, probeRedis, REDIS_TEST_URL, uniqueRedisPrefix } from './campaign-redis.js';
import { createScratchPgDatabase, PG_TEST_URL, probePostgres, type ScratchPgDatabase } from './store-fixtures.js';
import { freePort, Haproxy, haproxyProbe } from './haproxy.js';
import { VoxgateCluster, type ClusterInstance } from './cluster-processes.js';

export const PLIVO_NUMBER = '+14155550100';
export const TWILIO_NUMBER = '+14155550190';
export const API_TOKEN = 'cluster-e2e-api-token-0123456789';
const PLIVO_AUTH_ID = 'MACLUSTERE2ETEST';
const PLIVO_TOKEN = 'cluster-e2e-plivo-token';
const TWILIO_SID = `AC${'c1'.padEnd(32, '0')}`;
const TWILIO_TOKEN = 'cluster-e2e-twilio-token';

/** Why the cluster tests cannot run here (no HAProxy, Redis or PostgreSQL), or undefined. */
export async function clusterUnavailable(): Promise<string | undefined> {
  if (!haproxyProbe.available) return haproxyProbe.reason;
  const redis = await probeRedis();
  if (!redis.reachable) return `Redis ${REDIS_TEST_URL} unreachable (${redis.reason}); set VOXGATE_TEST_REDIS_URL`;
  const postgres = await probePostgres();
  if (!postgres.reachable) return `PostgreSQL unreachable (${postgres.reason}); set VOXGATE_TEST_PG_URL`;
  return undefined;
}

export interface ClusterE2eOptions {
  ids: string[];
  bots: unknown[];
  routes: unknown[];
  heartbeatMs?: number;
  leaseMs?: number;
  drainTimeoutMs?: number;
}

/** One row of the `calls` table, as the test reads it. */
export interface CallRow {
  id: string;
  carrier: string;
  carrier_call_id: string;
  bot: string;
  instance_id: string | null;
  answered_at: string | null;
  ended_at: string | null;
  hangup_cause: string | null;
  end_reason: string | null;
}

export class ClusterE2e {
  private constructor(
    readonly plivo: PlivoSimulator,
    readonly twilio: TwilioSimulator,
    readonly haproxy: Haproxy,
    readonly cluster: VoxgateCluster,
    readonly db: pg.Pool,
    private readonly scratch: ScratchPgDatabase,
    readonly keyPrefix: string,
  ) {}

  static async start(opts: ClusterE2eOptions): Promise<ClusterE2e> {
    const plivo = new PlivoSimulator({ authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN, outboundCallsPerSecond: 50 });
    // One ticker for both carriers' calls, as one carrier network would pace them.
    const twilio = new TwilioSimulator({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, ticker: plivo.ticker, outboundCallsPerSecond: 50 });
    const { restBaseUrl: plivoApi } = await plivo.listen();
    const { restBaseUrl: twilioApi } = await twilio.listen();
    const scratch = await createScratchPgDatabase(PG_TEST_URL);
    const keyPrefix = uniqueRedisPrefix('vgclustere2e');
    const publicPort = await freePort();
    const publicUrl = `http://127.0.0.1:${publicPort}`;
    let cluster: VoxgateCluster | undefined;
    let haproxy: Haproxy | undefined;
    try {
      cluster = await VoxgateCluster.start({
        ids: opts.ids,
        publicUrl,
        databaseUrl: scratch.url,
        redisUrl: REDIS_TEST_URL,
        keyPrefix,
        heartbeatMs: opts.heartbeatMs,
        leaseMs: opts.leaseMs,
        drainTimeoutMs: opts.drainTimeoutMs,
        config: {
          api: { token: API_TOKEN },
          carriers: {
            plivo: { authId: PLIVO_AUTH_ID, authToken: PLIVO_TOKEN, apiBaseUrl: plivoApi },
            twilio: { accountSid: TWILIO_SID, authToken: TWILIO_TOKEN, apiBaseUrl: twilioApi },
          },
          bots: opts.bots,
          routes: opts.routes,
        },
      });
      haproxy = await Haproxy.start({ port: publicPort, servers: cluster.instances.map((i) => ({ id: i.id, port: i.port })) });
      for (const instance of cluster.instances) await haproxy.waitForServerState(instance.id, 'UP');
    } catch (err) {
      await haproxy?.stop();
      await cluster?.close();
      await Promise.all([plivo.close(), twilio.close()]);
      await scratch.drop();
      await deleteRedisKeys(keyPrefix);
      throw err;
    }
    plivo.addNumber(PLIVO_NUMBER, { answerUrl: `${publicUrl}/plivo/answer`, hangupUrl: `${publicUrl}/plivo/hangup` });
    twilio.addNumber(TWILIO_NUMBER, { voiceUrl: `${publicUrl}/twilio/voice`, statusCallback: `${publicUrl}/twilio/status` });
    const db = new pg.Pool({ connectionString: scratch.url, max: 4 });
    db.on('error', () => undefined);
    return new ClusterE2e(plivo, twilio, haproxy, cluster, db, scratch, keyPrefix);
  }

  get instances(): ClusterInstance[] {
    return this.cluster.instances;
  }

  instance(id: string): ClusterInstance {
    return this.cluster.instance(id);
  }

  /** A caller dials the Plivo number (through HAProxy, as Plivo would reach Voxgate). */
  dialPlivo(from: string, script: PartyScript): SimCall {
    return this.plivo.dialInbound({ from, to: PLIVO_NUMBER, script: { recordHeard: false, ...script } });
  }

  dialTwilio(from: string, script: PartyScript): TwilioCall {
    return this.twilio.dialInbound({ from, to: TWILIO_NUMBER, script: { recordHeard: false, ...script } });
  }

  /** The record of a carrier's call, or undefined while none is written. */
  async record(carrier: string, carrierCallId: string): Promise<CallRow | undefined> {
    const { rows } = await this.db.query<CallRow>(
      'select id, carrier, carrier_call_id, bot, instance_id, answered_at, ended_at, hangup_cause, end_reason from calls where carrier = $1 and carrier_call_id = $2',
      [carrier, carrierCallId],
    );
    return rows[0];
  }

  /** What the bot and caller said in a call, in order. */
  async transcript(callId: string): Promise<string[]> {
    const { rows } = await this.db.query<{ speaker: string; text: string }>('select speaker, text from transcript_lines where call_id = $1 order by at, id', [callId]);
    return rows.map((r) => `${r.speaker}: ${r.text}`);
  }

  /** Polls `read` until `done` accepts its value; fails with `describe(last value)` after the deadline. */
  async until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, describe: (value: T | undefined) => string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    while (Date.now() < deadline) {
      last = await read();
      if (done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`after ${timeoutMs} ms: ${describe(last)}`);
  }

  /** The console's live view on one instance (GET /api/v1/live, a WebSocket: auth in-band, then a snapshot of the calls). */
  liveSnapshot(instance: ClusterInstance): Promise<LiveCall[]> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${instance.url.replace('http', 'ws')}/api/v1/live`);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', token: API_TOKEN })));
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`${instance.id}: no live snapshot within 10 s`));
      }, 10_000);
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string; calls?: LiveCall[]; error?: string };
        if (message.type === 'error') {
          clearTimeout(timer);
          reject(new Error(`${instance.id}: live view refused: ${message.error}`));
        }
        if (message.type !== 'snapshot') return;
        clearTimeout(timer);
        socket.close();
        resolve(message.calls ?? []);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${instance.id}: live view: ${err.message}`));
      });
    });
  }

  /** The API's list of live calls on one instance (GET /api/v1/calls/live). */
  async liveList(instance: ClusterInstance): Promise<LiveCall[]> {
    const res = await this.api(instance, 'GET', '/api/v1/calls/live');
    if (res.status !== 200) throw new Error(`${instance.id}: GET /api/v1/calls/live answered ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body as { calls: LiveCall[] }).calls;
  }

  /** The management API of one instance, directly (bypassing HAProxy). */
  async api(instance: ClusterInstance, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${instance.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body: parsed };
  }

  /** Everything each instance printed, for a failure message. */
  describe(): string {
    return [...this.instances.map((i) => i.describe()), this.haproxy.describe()].join('\n');
  }

  /** Every step runs whatever the others did: the instances first, so the simulators' last callbacks fail fast. */
  async close(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['instances', () => this.cluster.close()],
      ['simulators', () => Promise.all([this.plivo.close(), this.twilio.close()])],
      ['haproxy', () => this.haproxy.stop()],
      ['database pool', () => this.db.end()],
      ['scratch database', () => this.scratch.drop()],
      ['redis keys', () => deleteRedisKeys(this.keyPrefix)],
    ];
    const failed: string[] = [];
    for (const [name, step] of steps) await step().catch((err: unknown) => failed.push(`${name}: ${err instanceof Error ? err.message : String(err)}`));
    if (failed.length > 0) throw new Error(`cluster e2e clean-up incomplete: ${failed.join('; ')}`);
  }
}

export interface LiveCall {
  id: string;
  carrier: string;
  /** The instance that owns the call (cluster mode). */
  instance?: string;
  connected?: boolean;
  [key: string]: unknown;
}

/** Runs `tasks` with at most `limit` at once; resolves with their results in order. */
export async function withConcurrency<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
