/**
 * Test harness for the Plivo adapter: a real Fastify server on 127.0.0.1 with the Plivo routes,
 * a CallHandler that records what it is told (carrier-harness.ts), captured logs, and a ws client
 * that speaks as Plivo.
 */
import { plivoRoutes, type PlivoRoutesOptions } from '../../src/carriers/plivo/routes.js';
import type { PlivoContentType } from '../../src/carriers/plivo/answer-xml.js';
import { computeV3Signature } from '../../src/carriers/plivo/signature.js';
import { StreamAdmission } from '../../src/carriers/websocket-media/stream-admission.js';
import { StreamTestClient, startCarrierTestServer, type CarrierTestServer } from './carrier-harness.js';

export { CapturedLogs, RecordingCallHandler, collectFrames, tone, type LogLine } from './carrier-harness.js';

export type PlivoTestServer = CarrierTestServer & {
  /** The stream URL the answer XML gives for `callUuid` (with its ticket). */
  streamUrlFor(callUuid: string): string;
};

/** `publicBaseUrl`: the URL Plivo signs against when it is not this server's own (several processes behind one URL). */
export async function startPlivoTestServer(
  options: { authToken?: string; contentType?: PlivoContentType; publicBaseUrl?: string } & Partial<Omit<PlivoRoutesOptions, 'handler' | 'logger' | 'publicBaseUrl'>> = {},
): Promise<PlivoTestServer> {
  const { publicBaseUrl: sharedPublicUrl, ...routeOptions } = options;
  const streamAdmission = options.streamAdmission ?? new StreamAdmission();
  const server = await startCarrierTestServer('/plivo', (app, { handler, logger, newCallId, publicBaseUrl }) =>
    app.register(plivoRoutes, {
      prefix: '/plivo',
      contentType: 'audio/x-mulaw;rate=8000',
      newCallId,
      streamAdmission,
      ...routeOptions,
      get publicBaseUrl() {
        return sharedPublicUrl ?? publicBaseUrl();
      },
      handler,
      logger,
    }),
  );
  const streamUrlFor = (callUuid: string) => `${server.streamUrl}?${new URLSearchParams({ callUuid, ticket: streamAdmission.ticketFor(callUuid) }).toString()}`;
  return { ...server, streamUrlFor };
}

/** Connects to the stream of `callUuid` as Plivo does: at the answer's URL, with the upgrade signed when a token is given. */
export function connectStream(server: PlivoTestServer, callUuid: string, authToken?: string): Promise<PlivoStreamClient> {
  const url = server.streamUrlFor(callUuid);
  return PlivoStreamClient.connect(url, authToken ? signedHeaders('GET', url.replace('ws://', 'http://'), {}, authToken) : {});
}

export function signedHeaders(method: 'GET' | 'POST', url: string, params: Record<string, string | string[]>, authToken: string): Record<string, string> {
  const nonce = String(Math.floor(Math.random() * 1e12));
  return {
    'X-Plivo-Signature-V3': computeV3Signature({ method, url, params, nonce, authToken }),
    'X-Plivo-Signature-V3-Nonce': nonce,
  };
}

/** POSTs a form-encoded Plivo callback, signed when a token is given. */
export async function postCallback(
  url: string,
  params: Record<string, string | string[]>,
  options: { authToken?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; contentType: string | null }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...(options.authToken ? signedHeaders('POST', url, params, options.authToken) : {}),
    ...options.headers,
  };
  const res = await fetch(url, { method: 'POST', headers, body: body.toString() });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

export function answerParams(callUuid: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CallUUID: callUuid,
    From: '14155551234',
    To: '14155550000',
    Direction: 'inbound',
    CallStatus: 'in-progress',
    Event: 'StartApp',
    ALegUUID: callUuid,
    ...extra,
  };
}

/** What Plivo's stream side does: connects, sends start/media/acks, and collects what Voxgate sends. */
export class PlivoStreamClient extends StreamTestClient {
  private sequence = 0;
  private chunk = 0;

  static async connect(url: string, headers: Record<string, string> = {}): Promise<PlivoStreamClient> {
    return new PlivoStreamClient(await StreamTestClient.open(url, headers));
  }

  start(callUuid: string, mediaFormat: { encoding: string; sampleRate: number } = { encoding: 'audio/x-mulaw', sampleRate: 8000 }, streamId = `st-${callUuid}`): void {
    this.sendJson({
      event: 'start',
      sequenceNumber: ++this.sequence,
      start: { callId: callUuid, streamId, accountId: 'MA123', tracks: ['inbound'], mediaFormat },
      extra_headers: 'voxgateCallId=unknown',
    });
  }

  media(payload: Buffer | string): void {
    this.sendJson({
      event: 'media',
      sequenceNumber: ++this.sequence,
      streamId: 'st',
      media: { track: 'inbound', timestamp: String(Date.now()), chunk: ++this.chunk, payload: typeof payload === 'string' ? payload : payload.toString('base64') },
    });
  }
}

