/**
 * Twilio Media Streams messages (docs/protocols/twilio.md). `media` arrives 50 times a second per call
 * and is checked by hand on the object JSON.parse produced; the rare events go through zod for precise
 * error messages. Twilio sends numeric fields as strings.
 */
import { z } from 'zod';
import { StreamProtocolError, describeValue, parseJsonObject } from '../websocket-media/stream-protocol-error.js';

/** A stream message that does not match Twilio's protocol; `field` names the offending field. */
export class TwilioStreamProtocolError extends StreamProtocolError {
  override readonly name = 'TwilioStreamProtocolError';
  constructor(field: string, expected: string, got?: string) {
    super('Twilio', field, expected, got);
  }
}

export const twilioError = (field: string, expected: string, got?: string) => new TwilioStreamProtocolError(field, expected, got);

export interface TwilioStartMessage {
  event: 'start';
  streamSid: string;
  callSid: string;
  accountSid?: string;
  tracks: string[];
  customParameters: Record<string, string>;
}

export type TwilioInboundMessage =
  | { event: 'connected' }
  | TwilioStartMessage
  | { event: 'media'; media: { track?: string; payload: string } }
  | { event: 'dtmf'; digit: string; track?: string }
  | { event: 'mark'; name: string }
  | { event: 'stop' };

const KNOWN_EVENTS = 'one of connected, start, media, dtmf, mark, stop';

function fromZod(error: z.ZodError, input: unknown): TwilioStreamProtocolError {
  const issue = error.issues[0];
  const field = issue.path.join('.') || '(message)';
  let got: unknown = input;
  for (const key of issue.path) got = got && typeof got === 'object' ? (got as Record<string | number, unknown>)[key] : undefined;
  const expected = issue.code === 'invalid_type' ? `a ${issue.expected}` : issue.message;
  return new TwilioStreamProtocolError(field, expected, got === undefined ? undefined : describeValue(got));
}

const startSchema = z.object({
  start: z.object({
    streamSid: z.string().min(1, 'a non-empty stream sid'),
    callSid: z.string().min(1, 'a non-empty call sid'),
    accountSid: z.string().optional(),
    tracks: z.array(z.string()).optional(),
    customParameters: z.record(z.coerce.string()).optional(),
    mediaFormat: z.object({
      // Media Streams carry mu-law at 8 kHz only; anything else would be played as noise.
      encoding: z.literal('audio/x-mulaw', { errorMap: () => ({ message: 'audio/x-mulaw' }) }),
      sampleRate: z.coerce.number().refine((r) => r === 8000, '8000'),
      channels: z.coerce.number().refine((c) => c === 1, '1').optional(),
    }),
  }),
});

const dtmfSchema = z.object({ dtmf: z.object({ digit: z.string().regex(/^[0-9*#A-Da-d]$/, 'one digit of 0-9 * # A-D'), track: z.string().optional() }) });
const markSchema = z.object({ mark: z.object({ name: z.string({ message: 'the mark name (a string)' }) }) });

/** Parses one text frame; throws TwilioStreamProtocolError naming the field on anything unexpected. */
export function parseTwilioStreamMessage(text: string): TwilioInboundMessage {
  const msg = parseJsonObject(text, twilioError);
  switch (msg.event) {
    case 'media': {
      const media = msg.media as Record<string, unknown> | undefined;
      if (media === null || typeof media !== 'object') throw twilioError('media', 'an object with a base64 payload', media === undefined ? undefined : describeValue(media));
      if (typeof media.payload !== 'string') throw twilioError('media.payload', 'a base64 string', media.payload === undefined ? undefined : describeValue(media.payload));
      return { event: 'media', media: { track: typeof media.track === 'string' ? media.track : undefined, payload: media.payload } };
    }
    case 'connected':
      return { event: 'connected' };
    case 'start': {
      const parsed = startSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      const s = parsed.data.start;
      return { event: 'start', streamSid: s.streamSid, callSid: s.callSid, accountSid: s.accountSid, tracks: s.tracks ?? ['inbound'], customParameters: s.customParameters ?? {} };
    }
    case 'dtmf': {
      const parsed = dtmfSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      return { event: 'dtmf', digit: parsed.data.dtmf.digit.toUpperCase(), track: parsed.data.dtmf.track };
    }
    case 'mark': {
      const parsed = markSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      return { event: 'mark', name: parsed.data.mark.name };
    }
    case 'stop':
      return { event: 'stop' };
    default:
      throw twilioError('event', KNOWN_EVENTS, msg.event === undefined ? undefined : describeValue(msg.event));
  }
}

/** `media` to Twilio: base64 mu-law 8 kHz, no header. Built by concatenation: base64 needs no JSON escaping, and this runs per chunk. */
export function mediaMessage(streamSid: string, payloadBase64: string): string {
  return `{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"${payloadBase64}"}}`;
}

export function markMessage(streamSid: string, name: string): string {
  return JSON.stringify({ event: 'mark', streamSid, mark: { name } });
}

export function clearMessage(streamSid: string): string {
  return JSON.stringify({ event: 'clear', streamSid });
}
