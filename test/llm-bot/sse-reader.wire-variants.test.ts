import { describe, expect, it } from 'vitest';
import { readSseData } from '../../src/bots/llm/sse-reader.js';

async function collect(pieces: string[]): Promise<string[]> {
  const encoder = new TextEncoder();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const p of pieces) yield encoder.encode(p);
  }
  const out: string[] = [];
  for await (const data of readSseData(body())) out.push(data);
  return out;
}

describe('SSE reader', () => {
  it('reassembles events split anywhere across network chunks, including inside a CRLF', async () => {
    const wire = 'data: {"a":1}\r\n\r\n: keep-alive\r\n\r\nevent: message\r\ndata: {"b":2}\r\n\r\ndata: [DONE]\r\n\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      expect(await collect([wire.slice(0, cut), wire.slice(cut)])).toEqual(['{"a":1}', '{"b":2}', '[DONE]']);
    }
  });

  it('joins multi-line data, accepts "data:" without a space and a last event without the blank line', async () => {
    expect(await collect(['data:first\ndata: second\n\n', 'data: tail'])).toEqual(['first\nsecond', 'tail']);
  });

  it('decodes UTF-8 characters split between chunks', async () => {
    const bytes = new TextEncoder().encode('data: {"t":"café…"}\n\n');
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const b of bytes) yield new Uint8Array([b]);
    }
    const out: string[] = [];
    for await (const d of readSseData(body())) out.push(d);
    expect(out).toEqual(['{"t":"café…"}']);
  });
});
