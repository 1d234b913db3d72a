/**
 * Test harness for the Twilio adapter: a real Fastify server on 127.0.0.1 with the Twilio routes, the
 * recording CallHandler, captured logs, webhooks signed by the `twilio` package (an independent
 * implementation of X-Twilio-Signature), and a ws client that speaks as Twilio Media Streams.
 */
import twilio from 'twilio';
import { STREAM_TICKET_PARAMETER, twilioRoutes, type TwilioRoutesOptions } from '../../src/carriers/twilio/routes.js';
import { StreamAdmission } from '../../src/carriers/websocket-media/stream-admission.js';
import { StreamTestClient, startCarrierTestServer, type CarrierTestServer, type RecordingCallHandler } from './carrier-harness.js';

export type TwilioTestServer = CarrierTestServer;

/** Every Twilio test server issues tickets under this key, so the test client can carry the right one. */
const testAdmissionKey = Buffer.alloc(32, 7);
const ticketFor = (callSid: string) => new StreamAdmission(testAdmissionKey).ticketFor(callSid);

export async function startTwilioTestServer(
  options: Partial<Omit<TwilioRoutesOptions, 'handler' | 'logger' | 'publicBaseUrl'>> & { handler?: RecordingCallHandler } = {},
): Promise<TwilioTestServer> {
  const { handler: ownHandler, ...routeOptions } = options;
  return startCarrierTestServer(
    '/twilio',
    (app, { handler, logger, newCallId, publicBaseUrl }) =>
      app.register(twilioRoutes, {
        prefix: '/twilio',
        newCallId,
        streamAdmission: new StreamAdmission(testAdmissionKey),
        ...routeOptions,
        get publicBaseUrl() {
          return publicBaseUrl();
        },
        handler,
        logger,
      }),
    ownHandler,
  );
}

/** POSTs a form-encoded Twilio webhook, signed (by the twilio package) when a token is given. */
export async function postWebhook(
  url: string,
  params: Record<string, string>,
  options: { authToken?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; contentType: string | null }> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...(options.authToken ? { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(options.authToken, url, params) } : {}),
    ...options.headers,
  };
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

export function voiceParams(callSid: string, extra: Record<string, string> = {}): Record<string, string> {
  return { CallSid: callSid, AccountSid: 'AC00000000000000000000000000000000', From: '+14155551234', To: '+14155550000', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01', ...extra };
}

/** What Twilio's Media Streams side does: connects (signed), sends connected/start/media/dtmf/mark/stop, and collects what Voxgate sends. */
export class TwilioStreamClient extends StreamTestClient {
  private sequence = 0;
  private chunk = 0;
  private streamSid = 'MZ00000000000000000000000000000000';

  /** Opens the socket; with a token the handshake carries X-Twilio-Signature over the URL, as Twilio signs it. */
  static async connect(url: string, authToken?: string): Promise<TwilioStreamClient> {
    const headers: Record<string, string> = authToken ? { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(authToken, url, {}) } : {};
    return new TwilioStreamClient(await StreamTestClient.open(url, headers));
  }

  /**
   * `connected`, then `start` naming the call, as Twilio opens every stream; its parameters carry the
   * call's ticket as the voice TwiML set it up, unless the test passes its own voxgateTicket (or null: none).
   */
  start(callSid: string, parameters: Record<string, string | null> = {}, streamSid = `MZ${callSid.slice(2).padEnd(32, '0').slice(0, 32)}`): void {
    this.streamSid = streamSid;
    const withTicket: Record<string, string | null> = { [STREAM_TICKET_PARAMETER]: ticketFor(callSid), ...parameters };
    const customParameters = Object.fromEntries(Object.entries(withTicket).filter((e): e is [string, string] => e[1] !== null));
    this.sendJson({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.sendJson({
      event: 'start',
      sequenceNumber: String(++this.sequence),
      start: { accountSid: 'AC00000000000000000000000000000000', streamSid, callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      streamSid,
    });
  }

  media(payload: Buffer | string): void {
    const chunk = ++this.chunk;
    this.sendJson({
      event: 'media',
      sequenceNumber: String(++this.sequence),
      media: { track: 'inbound', chunk: String(chunk), timestamp: String(chunk * 20), payload: typeof payload === 'string' ? payload : payload.toString('base64') },
      streamSid: this.streamSid,
    });
  }

  dtmf(digit: string): void {
    this.sendJson({ event: 'dtmf', streamSid: this.streamSid, sequenceNumber: String(++this.sequence), dtmf: { track: 'inbound_track', digit } });
  }

  mark(name: string): void {
    this.sendJson({ event: 'mark', sequenceNumber: String(++this.sequence), streamSid: this.streamSid, mark: { name } });
  }

  stop(callSid: string): void {
    this.sendJson({ event: 'stop', sequenceNumber: String(++this.sequence), streamSid: this.streamSid, stop: { accountSid: 'AC00000000000000000000000000000000', callSid } });
  }
}
