/** Plivo's audio stream protocol (docs/protocols/plivo.md) as a MediaWire for the shared WebSocketLeg. */
import type { MediaWire, StreamStart, StreamWriter, WireEvent, WireProblem } from '../websocket-media/media-wire.js';
import { JsonWireReader } from '../websocket-media/json-wire-reader.js';
import {
  PlivoStreamProtocolError,
  checkpointMessage,
  clearAudioMessage,
  parsePlivoStreamMessage,
  playAudioMessage,
  sendDtmfMessage,
  type PlivoInboundMessage,
} from './stream-protocol.js';
import type { PlivoEncoding, PlivoMediaFormat } from './answer-xml.js';

/** Raw bytes per playAudio message: 12000 bytes is 16000 base64 characters, under the 16 KB the protocol doc advises. */
const MAX_PLAY_BYTES = 12_000;

export function plivoEncoding(format: StreamStart['format']): PlivoEncoding {
  return format.encoding === 'mulaw' ? 'audio/x-mulaw' : 'audio/x-l16';
}

export function streamFormatOf(format: PlivoMediaFormat): StreamStart['format'] {
  return { encoding: format.encoding === 'audio/x-mulaw' ? 'mulaw' : 'l16', sampleRate: format.sampleRate };
}

class PlivoWireReader extends JsonWireReader<PlivoInboundMessage> {
  constructor() {
    super((field, expected, got) => new PlivoStreamProtocolError(field, expected, got));
  }

  protected parse(text: string): PlivoInboundMessage {
    return parsePlivoStreamMessage(text);
  }

  protected toWireEvent(msg: PlivoInboundMessage): WireEvent | WireProblem {
    switch (msg.event) {
      case 'media':
        return this.media(msg.media.track, msg.media.payload, 'inbound');
      case 'dtmf':
        return msg.track === undefined || msg.track === 'inbound' ? { event: 'dtmf', digit: msg.digit } : { event: 'ignored' };
      case 'playedStream':
        return { event: 'mark', name: msg.name };
      case 'clearedAudio':
        return { event: 'cleared' };
      case 'stop':
        return { event: 'stop' };
      case 'start': {
        const { callId, streamId, mediaFormat } = msg.start;
        const format = streamFormatOf({ encoding: mediaFormat.encoding, sampleRate: mediaFormat.sampleRate as 8000 | 16000 });
        return { event: 'start', start: { carrierCallId: callId, streamId, format, parameters: msg.extraHeaders } };
      }
    }
  }
}

function plivoWriter(start: StreamStart): StreamWriter {
  const encoding = plivoEncoding(start.format);
  const { sampleRate } = start.format;
  return {
    maxAudioBytes: MAX_PLAY_BYTES,
    audio: (payload) => playAudioMessage(encoding, sampleRate, payload),
    mark: (name) => checkpointMessage(start.streamId, name),
    clear: () => [clearAudioMessage(start.streamId)],
    dtmf: sendDtmfMessage,
  };
}

export const plivoMediaWire: MediaWire = {
  label: 'Plivo',
  callIdField: 'callUuid',
  createReader: () => new PlivoWireReader(),
  writerFor: plivoWriter,
};
