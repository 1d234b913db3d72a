/**
 * Server-sent events reader for the Chat Completions stream: yields each event's `data` (multi-line
 * data joined by "\n"), skipping comments (": keep-alive") and other fields. Handles \n, \r\n and \r
 * line ends and events split across network chunks.
 */
export async function* readSseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let lineEnd: number;
    while ((lineEnd = findLineEnd(buffer)) >= 0) {
      const line = buffer.slice(0, lineEnd);
      // A "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
      if (buffer[lineEnd] === '\r' && lineEnd + 1 === buffer.length) break;
      const skip = buffer[lineEnd] === '\r' && buffer[lineEnd + 1] === '\n' ? 2 : 1;
      buffer = buffer.slice(lineEnd + skip);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      // comments (":...") and event:/id:/retry: fields carry nothing for chat completions
    }
  }
  buffer += decoder.decode();
  if (buffer.startsWith('data:')) data.push(buffer.slice(buffer[5] === ' ' ? 6 : 5));
  // Some servers end the stream without the final blank line.
  if (data.length > 0) yield data.join('\n');
}

function findLineEnd(s: string): number {
  const n = s.indexOf('\n');
  const r = s.indexOf('\r');
  if (n < 0) return r;
  if (r < 0) return n;
  return Math.min(n, r);
}
