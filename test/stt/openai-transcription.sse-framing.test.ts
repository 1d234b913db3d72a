import { describe, expect, it } from 'vitest';
import { serverSentEventData } from '../../src/speech/stt/openai-sse.js';

async function events(chunks: string[]): Promise<string[]> {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
  }
  const out: string[] = [];
  for await (const data of serverSentEventData(body())) out.push(data);
  return out;
}

describe('OpenAI STT: server-sent event framing of streamed transcripts', () => {
  it('reassembles events split across network chunks, even inside a multi-byte character', async () => {
    const stream = 'data: {"type":"transcript.text.delta","delta":"caf\u00e9"}\n\ndata: {"type":"transcript.text.done","text":"caf\u00e9"}\n\n';
    const bytes = new TextEncoder().encode(stream);
    const cut = bytes.indexOf(0xa9); // second byte of "é"
    const pieces = [bytes.subarray(0, cut), bytes.subarray(cut, cut + 7), bytes.subarray(cut + 7)];
    async function* body(): AsyncGenerator<Uint8Array> {
      yield* pieces;
    }
    const out: string[] = [];
    for await (const data of serverSentEventData(body())) out.push(data);
    expect(out.map((d) => JSON.parse(d) as unknown)).toEqual([
      { type: 'transcript.text.delta', delta: 'café' },
      { type: 'transcript.text.done', text: 'café' },
    ]);
  });

  it('accepts CRLF line ends, event:/id:/comment lines, and joins multi-line data', async () => {
    expect(await events([': keep-alive\r\n\r\nevent: transcript.text.delta\r\nid: 1\r\ndata: {"a":\r', '\ndata: 1}\r\n\r\n'])).toEqual(['{"a":\n1}']);
  });

  it('delivers a last event whose blank line never came', async () => {
    expect(await events(['data: one\n\ndata: two'])).toEqual(['one', 'two']);
  });
});
