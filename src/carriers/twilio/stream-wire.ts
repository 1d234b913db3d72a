/** Twilio Media Streams as a MediaWire for the shared WebSocketLeg. */
import type { MediaWire, StreamStart, StreamWriter, WireEvent, WireProblem, WireReader } from '../websocket-media/media-wire.js';
import { Base64PayloadDecoder } from '../websocket-media/base64-payload-decoder.js';
import { MediaFrameScanner } from '../websocket-media/media-frame-scanner.js';
import { TwilioStreamProtocolError, clearMessage, markMessage, mediaMessage, parseTwilioStreamMessage, twilioError } from './stream-protocol.js';

/** Raw mu-law bytes per outbound media message: one second of audio. */
const MAX_MEDIA_BYTES = 8000;
/**
 * Twilio does not confirm a clear, but it echoes every pending mark when it clears and answers a mark
 * sent into an empty buffer at once; a mark of ours sent right after the clear therefore confirms it.
 */
const CLEARED_MARK = 'voxgate:cleared:';

class TwilioWireReader implements WireReader {
  private readonly decoder = new Base64PayloadDecoder(twilioError);
  private readonly scanner = new MediaFrameScanner();

  read(text: Buffer): WireEvent | WireProblem {
    const fast = this.scanner.tryDecode(text);
    if (fast) return { event: 'media', payload: fast };
    let msg;
    try {
      msg = parseTwilioStreamMessage(text.toString('utf8'));
    } catch (err) {
      return { problemKind: err instanceof TwilioStreamProtocolError ? `bad-${err.field}` : 'bad-message', problem: err instanceof Error ? err.message : String(err) };
    }
    switch (msg.event) {
      case 'connected':
        return { event: 'ignored' };
      case 'media': {
        // Only the caller's audio is conversation input; an outbound track would echo our own playout.
        if (msg.media.track !== undefined && msg.media.track !== 'inbound') return { event: 'ignored' };
        try {
          return { event: 'media', payload: this.decoder.decode(msg.media.payload) };
        } catch (err) {
          return { problemKind: 'bad-media.payload', problem: (err as Error).message };
        }
      }
      case 'dtmf':
        return msg.track === undefined || msg.track === 'inbound_track' || msg.track === 'inbound' ? { event: 'dtmf', digit: msg.digit } : { event: 'ignored' };
      case 'mark':
        return msg.name.startsWith(CLEARED_MARK) ? { event: 'cleared' } : { event: 'mark', name: msg.name };
      case 'stop':
        return { event: 'stop' };
      case 'start':
        return {
          event: 'start',
          start: { carrierCallId: msg.callSid, streamId: msg.streamSid, format: { encoding: 'mulaw', sampleRate: 8000 }, parameters: msg.customParameters },
        };
    }
  }
}

function twilioWriter(start: StreamStart): StreamWriter {
  const { streamId } = start;
  let clears = 0;
  return {
    maxAudioBytes: MAX_MEDIA_BYTES,
    audio: (payload) => mediaMessage(streamId, payload),
    mark: (name) => markMessage(streamId, name),
    clear: () => [clearMessage(streamId), markMessage(streamId, `${CLEARED_MARK}${++clears}`)],
  };
}

export const twilioMediaWire: MediaWire = {
  label: 'Twilio',
  callIdField: 'callSid',
  createReader: () => new TwilioWireReader(),
  writerFor: twilioWriter,
};
