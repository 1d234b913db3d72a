import { describe, expect, it } from 'vitest';
import {
  PlivoPayloadDecoder,
  PlivoStreamProtocolError,
  checkpointMessage,
  clearAudioMessage,
  parsePlivoStreamMessage,
  playAudioMessage,
  sendDtmfMessage,
} from '../../src/carriers/plivo/stream-protocol.js';

function protocolError(text: string): PlivoStreamProtocolError {
  try {
    parsePlivoStreamMessage(text);
  } catch (err) {
    expect(err).toBeInstanceOf(PlivoStreamProtocolError);
    return err as PlivoStreamProtocolError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('Plivo stream messages', () => {
  it('parses start with media format and extra headers in either separator shape', () => {
    const msg = parsePlivoStreamMessage(
      JSON.stringify({
        event: 'start',
        sequenceNumber: 1,
        start: { callId: 'c1', streamId: 's1', accountId: 'MA1', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000 } },
        extra_headers: 'voxgateCallId=v1;tenant=t',
      }),
    );
    expect(msg).toEqual({
      event: 'start',
      sequenceNumber: 1,
      start: { callId: 'c1', streamId: 's1', accountId: 'MA1', tracks: ['inbound'], mediaFormat: { encoding: 'audio/x-l16', sampleRate: 16000 } },
      extraHeaders: { voxgateCallId: 'v1', tenant: 't' },
    });
  });

  it('names the missing or wrong field of a start event', () => {
    const noCallId = protocolError(JSON.stringify({ event: 'start', start: { streamId: 's', mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 } } }));
    expect(noCallId.field).toBe('start.callId');
    expect(noCallId.message).toMatch(/"start.callId" is missing/);
    const badRate = protocolError(JSON.stringify({ event: 'start', start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 44100 } } }));
    expect(badRate.field).toBe('start.mediaFormat.sampleRate');
    expect(badRate.message).toMatch(/8000 or 16000/);
    const badEncoding = protocolError(JSON.stringify({ event: 'start', start: { callId: 'c', streamId: 's', mediaFormat: { encoding: 'audio/opus', sampleRate: 8000 } } }));
    expect(badEncoding.message).toMatch(/start.mediaFormat.encoding.*audio\/opus.*audio\/x-mulaw or audio\/x-l16/);
  });

  it('parses dtmf, playedStream and the older played, clearedAudio and stop', () => {
    expect(parsePlivoStreamMessage('{"event":"dtmf","streamId":"s","dtmf":{"track":"inbound","digit":"#","timestamp":"1"}}')).toMatchObject({ event: 'dtmf', digit: '#' });
    expect(parsePlivoStreamMessage('{"event":"dtmf","dtmf":{"digit":"b"}}')).toMatchObject({ digit: 'B' });
    expect(parsePlivoStreamMessage('{"event":"playedStream","streamId":"s","name":"m1"}')).toEqual({ event: 'playedStream', streamId: 's', name: 'm1' });
    expect(parsePlivoStreamMessage('{"event":"played","name":"m2"}')).toEqual({ event: 'playedStream', streamId: undefined, name: 'm2' });
    expect(parsePlivoStreamMessage('{"event":"clearedAudio","streamId":"s"}')).toEqual({ event: 'clearedAudio', streamId: 's' });
    expect(parsePlivoStreamMessage('{"event":"stop"}')).toEqual({ event: 'stop', streamId: undefined });
  });

  it('rejects bad dtmf digits, malformed JSON, non-objects and unknown events with the field named', () => {
    expect(protocolError('{"event":"dtmf","dtmf":{"digit":"x"}}').message).toMatch(/dtmf.digit.*0-9 \* # A-D/);
    expect(protocolError('{"event":"media"').message).toMatch(/not JSON/);
    expect(protocolError('[1,2]').message).toMatch(/a JSON object/);
    const unknown = protocolError('{"event":"dance"}');
    expect(unknown.field).toBe('event');
    expect(unknown.message).toMatch(/"dance".*start, media/);
    expect(protocolError('{"event":"media"}').field).toBe('media');
    expect(protocolError('{"event":"media","media":{"payload":5}}').message).toMatch(/media.payload" is a number, expected a base64 string/);
    expect(protocolError('{"event":"playedStream"}').field).toBe('name');
  });

  it('returns the media object itself and decodes payloads into one reused buffer', () => {
    const bytes = Buffer.from(Array.from({ length: 160 }, (_, i) => i));
    const msg = parsePlivoStreamMessage(JSON.stringify({ event: 'media', media: { track: 'inbound', chunk: 3, timestamp: '1', payload: bytes.toString('base64') } }));
    expect(msg.event).toBe('media');
    const decoder = new PlivoPayloadDecoder();
    const first = decoder.decode((msg as { media: { payload: string } }).media.payload);
    expect(Buffer.compare(first, bytes)).toBe(0);
    const second = decoder.decode(Buffer.from([1, 2, 3, 4]).toString('base64'));
    expect([...second]).toEqual([1, 2, 3, 4]);
    expect(second.buffer).toBe(first.buffer);
    // Payloads longer than the scratch buffer still decode.
    const big = Buffer.alloc(4000, 7);
    expect(Buffer.compare(decoder.decode(big.toString('base64')), big)).toBe(0);
  });

  it('rejects corrupt base64', () => {
    const decoder = new PlivoPayloadDecoder();
    expect(() => decoder.decode('abc')).toThrow(/multiple of 4/);
    expect(() => decoder.decode('ab!d')).toThrow(/outside the base64 alphabet/);
    expect(() => decoder.decode('====')).toThrow(PlivoStreamProtocolError);
  });

  it('serializes outbound commands as Plivo expects them', () => {
    expect(JSON.parse(playAudioMessage('audio/x-mulaw', 8000, 'AAEC'))).toEqual({ event: 'playAudio', media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: 'AAEC' } });
    expect(JSON.parse(checkpointMessage('s1', 'mark "1"'))).toEqual({ event: 'checkpoint', streamId: 's1', name: 'mark "1"' });
    expect(JSON.parse(clearAudioMessage('s1'))).toEqual({ event: 'clearAudio', streamId: 's1' });
    expect(JSON.parse(sendDtmfMessage('12#A'))).toEqual({ event: 'sendDTMF', dtmf: '12#A' });
    expect(() => sendDtmfMessage('12x')).toThrow(/"12x" are invalid/);
  });
});
