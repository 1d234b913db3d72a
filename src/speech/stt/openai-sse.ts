/**
 * Server-sent events (text/event-stream) as OpenAI streams them: events separated by a blank line,
 * each carrying one or more `data:` lines (joined with "\n"); `event:`, `id:` and `:` comment lines
 * are ignored because the JSON payload names its own `type`.
 */

/** Yields the data of each event in a text/event-stream body. */
export async function* serverSentEventData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  let data: string[] = [];
  const lineOf = (line: string): string | undefined => {
    if (line === '') {
      const event = data.length > 0 ? data.join('\n') : undefined;
      data = [];
      return event;
    }
    if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    return undefined;
  };
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    // Lines may end in \r\n, \n or \r (the SSE spec allows all three).
    let match: RegExpExecArray | null;
    const lineEnd = /\r\n|\n|\r(?!$)/g;
    let consumed = 0;
    while ((match = lineEnd.exec(buffered)) !== null) {
      const event = lineOf(buffered.slice(consumed, match.index));
      consumed = match.index + match[0].length;
      if (event !== undefined) yield event;
    }
    buffered = buffered.slice(consumed);
  }
  buffered += decoder.decode();
  for (const line of buffered.split(/\r\n|\n|\r/)) {
    const event = lineOf(line);
    if (event !== undefined) yield event;
  }
  // A stream that ends without the closing blank line still delivers its last event.
  if (data.length > 0) yield data.join('\n');
}
