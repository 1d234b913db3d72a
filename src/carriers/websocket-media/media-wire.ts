/**
 * What differs between WebSocket media carriers: the wire format of their stream messages. Each carrier
 * folder implements one `MediaWire` (Plivo's stream protocol, Twilio Media Streams); the socket, the
 * pacing, the 20 ms framing and the codec live once, in WebSocketLeg.
 */
import type { LegSampleRate } from '../leg.js';

/** The audio of one stream as its `start` message states it; audio goes out in the same format. */
export interface StreamMediaFormat {
  encoding: 'mulaw' | 'l16';
  sampleRate: LegSampleRate;
}

export interface StreamStart {
  /** The carrier's id of the call the stream belongs to (Plivo CallUUID, Twilio CallSid). */
  carrierCallId: string;
  streamId: string;
  format: StreamMediaFormat;
  /** Values the application attached to the stream (Plivo extra_headers, Twilio <Parameter>s). */
  parameters: Record<string, string>;
}

/** One inbound message, as the leg needs it. */
export type WireEvent =
  | { event: 'start'; start: StreamStart }
  /** Caller audio in the stream's format; valid until the next `read`. */
  | { event: 'media'; payload: Buffer }
  | { event: 'dtmf'; digit: string }
  /** Everything sent before mark `name` has played. */
  | { event: 'mark'; name: string }
  /** The carrier confirmed that a clear emptied its playout queue. */
  | { event: 'cleared' }
  | { event: 'stop' }
  /** A valid message that carries nothing for the leg (a protocol greeting, another track's audio). */
  | { event: 'ignored' };

/** A message that is not a usable protocol message: `problemKind` groups repeats for rate-limited warnings. */
export interface WireProblem {
  problemKind: string;
  problem: string;
}

/** Reads one socket's inbound messages; keeps scratch buffers, so one reader per socket. */
export interface WireReader {
  read(text: Buffer): WireEvent | WireProblem;
}

/** Builds one stream's outbound messages. */
export interface StreamWriter {
  /** Largest raw audio bytes one outbound message may carry. */
  readonly maxAudioBytes: number;
  /** One message playing `payloadBase64`, audio in the stream's format. */
  audio(payloadBase64: string): string;
  /** Asks the carrier to report mark `name` once everything sent before it has played. */
  mark(name: string): string;
  /** The messages that empty the carrier's playout queue; its confirmation reads back as a `cleared` event. */
  clear(): string[];
  /** In-band DTMF to the far end, when the protocol has it; throws on digits outside 0-9 * # A-D. */
  dtmf?(digits: string): string;
}

export interface MediaWire {
  /** How logs and close reasons name the stream's carrier: "Plivo", "Twilio". */
  readonly label: string;
  /** The log field carrying the carrier's call id, in the carrier's own words: "callUuid", "callSid". */
  readonly callIdField: string;
  createReader(): WireReader;
  writerFor(start: StreamStart): StreamWriter;
}
