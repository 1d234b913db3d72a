/** Twilio Media Streams as a MediaWire for the shared WebSocketLeg. */
import type { MediaWire, StreamStart, StreamWriter, WireEvent, WireProblem } from '../websocket-media/media-wire.js';
import { JsonWireReader } from '../websocket-media/json-wire-reader.js';
import { clearMessage, markMessage, mediaMessage, parseTwilioStreamMessage, twilioError, type TwilioInboundMessage } from './stream-protocol.js';

/** Raw mu-law bytes per outbound media message: one second of audio. */
const MAX_MEDIA_BYTES = 8000;
/**
 * Twilio does not confirm a clear, but it echoes every pending mark when it clears and answers a mark
 * sent into an empty buffer at once; a mark of ours sent right after the clear therefore confirms it.
 */
const CLEARED_MARK = 'voxgate:cleared:';

class TwilioWireReader extends JsonWireReader<TwilioInboundMessage> {
  constructor() {
    super(twilioError);
  }

  protected parse(text: string): TwilioInboundMessage {
    return parseTwilioStreamMessage(text);
  }

  protected toWireEvent(msg: TwilioInboundMessage): WireEvent | WireProblem {
    switch (msg.event) {
      case 'connected':
        return { event: 'ignored' };
      case 'media':
        return this.media(msg.media.track, msg.media.payload, 'inbound');
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
