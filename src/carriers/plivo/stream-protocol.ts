/**
 * Plivo audio stream WebSocket messages (docs/protocols/plivo.md, "Audio stream WebSocket").
 * `media` arrives 50 times a second per call, so it is validated by hand on the object JSON.parse
 * produced (no copy, no zod); the rare events go through zod for precise error messages.
 */
import { z } from 'zod';
import { parseExtraHeaders, type PlivoEncoding } from './answer-xml.js';
import { Base64PayloadDecoder } from '../websocket-media/base64-payload-decoder.js';
import { StreamProtocolError, describeValue, parseJsonObject } from '../websocket-media/stream-protocol-error.js';

/** A stream message that does not match Plivo's protocol; `field` names the offending field. */
export class PlivoStreamProtocolError extends StreamProtocolError {
  override readonly name = 'PlivoStreamProtocolError';
  constructor(field: string, expected: string, got?: string) {
    super('Plivo', field, expected, got);
  }
}

const plivoError = (field: string, expected: string, got?: string) => new PlivoStreamProtocolError(field, expected, got);

export interface PlivoStartMessage {
  event: 'start';
  sequenceNumber?: number;
  start: {
    callId: string;
    streamId: string;
    accountId?: string;
    tracks: string[];
    mediaFormat: { encoding: PlivoEncoding; sampleRate: number };
  };
  /** Parsed from `extra_headers` (`a=1,b=2` or `a=1;b=2`). */
  extraHeaders: Record<string, string>;
}

/** The object JSON.parse produced, checked in place (payload is a string; the rest is not relied on). */
export interface PlivoMediaMessage {
  event: 'media';
  sequenceNumber?: number;
  streamId?: string;
  media: { track?: string; timestamp?: string; chunk?: number; payload: string };
}

export interface PlivoDtmfMessage {
  event: 'dtmf';
  streamId?: string;
  digit: string;
  track?: string;
}

/** `playedStream`, or its older name `played`: everything before checkpoint `name` has played. */
export interface PlivoPlayedStreamMessage {
  event: 'playedStream';
  streamId?: string;
  name: string;
}

export interface PlivoClearedAudioMessage {
  event: 'clearedAudio';
  streamId?: string;
}

export interface PlivoStopMessage {
  event: 'stop';
  streamId?: string;
}

export type PlivoInboundMessage =
  | PlivoStartMessage
  | PlivoMediaMessage
  | PlivoDtmfMessage
  | PlivoPlayedStreamMessage
  | PlivoClearedAudioMessage
  | PlivoStopMessage;

const KNOWN_EVENTS = 'one of start, media, dtmf, playedStream, played, clearedAudio, stop';

function fromZod(error: z.ZodError, input: unknown): PlivoStreamProtocolError {
  const issue = error.issues[0];
  const field = issue.path.join('.') || '(message)';
  let got: unknown = input;
  for (const key of issue.path) got = got && typeof got === 'object' ? (got as Record<string | number, unknown>)[key] : undefined;
  const expected = issue.code === 'invalid_type' ? `a ${issue.expected}` : issue.message;
  return new PlivoStreamProtocolError(field, expected, got === undefined ? undefined : describeValue(got));
}

const optionalString = z.string().optional();

const startSchema = z.object({
  sequenceNumber: z.coerce.number().optional(),
  start: z.object({
    callId: z.string().min(1, 'a non-empty call id'),
    streamId: z.string().min(1, 'a non-empty stream id'),
    accountId: optionalString,
    tracks: z.array(z.string()).optional(),
    mediaFormat: z.object({
      encoding: z.enum(['audio/x-mulaw', 'audio/x-l16'], { message: 'audio/x-mulaw or audio/x-l16' }),
      sampleRate: z.coerce.number().refine((r) => r === 8000 || r === 16000, '8000 or 16000'),
    }),
    extraHeaders: z.union([z.string(), z.record(z.string())]).optional(),
    extra_headers: z.union([z.string(), z.record(z.string())]).optional(),
  }),
  extra_headers: z.union([z.string(), z.record(z.string())]).optional(),
  extraHeaders: z.union([z.string(), z.record(z.string())]).optional(),
});

const dtmfSchema = z.object({
  streamId: optionalString,
  dtmf: z.object({
    digit: z.string().regex(/^[0-9*#A-Da-d]$/, 'one digit of 0-9 * # A-D'),
    track: optionalString,
    timestamp: z.union([z.string(), z.number()]).optional(),
  }),
});

const playedSchema = z.object({ streamId: optionalString, name: z.string({ message: 'the checkpoint name (a string)' }) });

function headersOf(value: string | Record<string, string> | undefined): Record<string, string> {
  return typeof value === 'string' ? parseExtraHeaders(value) : (value ?? {});
}

/** Parses one text frame; throws PlivoStreamProtocolError naming the field on anything unexpected. */
export function parsePlivoStreamMessage(text: string): PlivoInboundMessage {
  const msg = parseJsonObject(text, plivoError);
  const event = msg.event;
  if (event === 'media') {
    const media = msg.media as Record<string, unknown> | undefined;
    if (media === null || typeof media !== 'object') {
      throw new PlivoStreamProtocolError('media', 'an object with a base64 payload', media === undefined ? undefined : describeValue(media));
    }
    if (typeof media.payload !== 'string') {
      throw new PlivoStreamProtocolError('media.payload', 'a base64 string', media.payload === undefined ? undefined : describeValue(media.payload));
    }
    return msg as unknown as PlivoMediaMessage;
  }
  switch (event) {
    case 'start': {
      const parsed = startSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      const s = parsed.data.start;
      return {
        event: 'start',
        sequenceNumber: parsed.data.sequenceNumber,
        start: {
          callId: s.callId,
          streamId: s.streamId,
          accountId: s.accountId,
          tracks: s.tracks ?? ['inbound'],
          mediaFormat: { encoding: s.mediaFormat.encoding, sampleRate: s.mediaFormat.sampleRate },
        },
        extraHeaders: headersOf(parsed.data.extra_headers ?? parsed.data.extraHeaders ?? s.extra_headers ?? s.extraHeaders),
      };
    }
    case 'dtmf': {
      const parsed = dtmfSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      return { event: 'dtmf', streamId: parsed.data.streamId, digit: parsed.data.dtmf.digit.toUpperCase(), track: parsed.data.dtmf.track };
    }
    case 'playedStream':
    case 'played': {
      const parsed = playedSchema.safeParse(msg);
      if (!parsed.success) throw fromZod(parsed.error, msg);
      return { event: 'playedStream', streamId: parsed.data.streamId, name: parsed.data.name };
    }
    case 'clearedAudio':
      return { event: 'clearedAudio', streamId: typeof msg.streamId === 'string' ? msg.streamId : undefined };
    case 'stop':
      return { event: 'stop', streamId: typeof msg.streamId === 'string' ? msg.streamId : undefined };
    default:
      throw new PlivoStreamProtocolError('event', KNOWN_EVENTS, event === undefined ? undefined : describeValue(event));
  }
}

/** Base64 media payloads decoded into one reused buffer; corrupt ones throw PlivoStreamProtocolError. */
export class PlivoPayloadDecoder extends Base64PayloadDecoder {
  constructor() {
    super(plivoError);
  }
}

const DTMF_DIGITS = /^[0-9*#A-D]+$/;

/**
 * `playAudio` with a base64 payload. Built by concatenation: base64 never needs JSON escaping, and this
 * runs for every chunk of bot audio.
 */
export function playAudioMessage(encoding: PlivoEncoding, sampleRate: number, payloadBase64: string): string {
  return `{"event":"playAudio","media":{"contentType":"${encoding}","sampleRate":${sampleRate},"payload":"${payloadBase64}"}}`;
}

export function checkpointMessage(streamId: string, name: string): string {
  return JSON.stringify({ event: 'checkpoint', streamId, name });
}

export function clearAudioMessage(streamId: string): string {
  return JSON.stringify({ event: 'clearAudio', streamId });
}

/** Throws when `digits` holds anything but 0-9 * # A-D. */
export function sendDtmfMessage(digits: string): string {
  if (!DTMF_DIGITS.test(digits)) {
    throw new Error(`Plivo sendDTMF digits "${digits}" are invalid: expected one or more of 0-9 * # A-D`);
  }
  return JSON.stringify({ event: 'sendDTMF', dtmf: digits });
}
