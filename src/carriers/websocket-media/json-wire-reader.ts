/**
 * What reading a JSON stream protocol is, whatever the carrier: the media fast path first (the
 * message that arrives 50 times a second), then the carrier's full parser, whose protocol errors
 * become rate-limited warnings grouped by the field they name, and base64 media decoded into one
 * reused buffer. A carrier's reader maps its own messages to wire events.
 */
import { Base64PayloadDecoder } from './base64-payload-decoder.js';
import { MediaFrameScanner } from './media-frame-scanner.js';
import type { WireEvent, WireProblem, WireReader } from './media-wire.js';
import { StreamProtocolError } from './stream-protocol-error.js';

export abstract class JsonWireReader<Message> implements WireReader {
  private readonly scanner = new MediaFrameScanner();
  private readonly decoder: Base64PayloadDecoder;

  constructor(error: (field: string, expected: string, got?: string) => StreamProtocolError) {
    this.decoder = new Base64PayloadDecoder(error);
  }

  read(text: Buffer): WireEvent | WireProblem {
    const fast = this.scanner.tryDecode(text);
    if (fast) return { event: 'media', payload: fast };
    let msg: Message;
    try {
      msg = this.parse(text.toString('utf8'));
    } catch (err) {
      return { problemKind: err instanceof StreamProtocolError ? `bad-${err.field}` : 'bad-message', problem: err instanceof Error ? err.message : String(err) };
    }
    return this.toWireEvent(msg);
  }

  /** Parses one text frame; throws the carrier's StreamProtocolError naming the field on anything unexpected. */
  protected abstract parse(text: string): Message;

  protected abstract toWireEvent(msg: Message): WireEvent | WireProblem;

  /** Caller audio from a media message; another track's audio would echo our own playout, so it is ignored. */
  protected media(track: string | undefined, payloadBase64: string, callerTrack: string): WireEvent | WireProblem {
    if (track !== undefined && track !== callerTrack) return { event: 'ignored' };
    try {
      return { event: 'media', payload: this.decoder.decode(payloadBase64) };
    } catch (err) {
      return { problemKind: 'bad-media.payload', problem: (err as Error).message };
    }
  }
}
