/**
 * One streamed Chat Completions request (OpenAI wire format, also served by Azure OpenAI, Ollama,
 * vLLM and llama.cpp server): POST with `stream: true`, read the SSE chunks, hand content deltas to
 * the caller as they arrive and assemble tool calls that arrive in fragments.
 */
import { readSseData } from './sse-reader.js';

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatCompletionResult {
  /** Tool calls in index order, arguments fully assembled (still JSON text). */
  toolCalls: ChatToolCall[];
  finishReason?: string;
}

/** What arrived of a streamed answer: its headers, then each event. */
export type StreamProgress = 'headers' | 'event';

/** A request that failed at the HTTP or wire level; the message names the URL and what went wrong. */
export class ChatCompletionError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChatCompletionError';
  }
}

interface ChunkToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/**
 * Streams one completion. `onContent` is called for every content delta, in order. Rejects with
 * ChatCompletionError on an HTTP error, a malformed stream or a stream error object; when `signal`
 * aborts, rejects with the signal's reason.
 * `onActivity` is called when the headers arrive and for every stream event (the caller's
 * deadlines restart on it; comments such as ": keep-alive" do not count, a stream of only those is stalled).
 */
export async function streamChatCompletion(options: {
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  signal: AbortSignal;
  onContent: (text: string) => void;
  onActivity?: (arrived: StreamProgress) => void;
}): Promise<ChatCompletionResult> {
  const { url, signal } = options;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...options.headers },
    body: JSON.stringify({ ...options.body, stream: true }),
    signal,
  }).catch((err: unknown) => {
    if (signal.aborted) throw signal.reason;
    throw new ChatCompletionError(`POST ${url} failed: ${describeNetworkError(err)}`);
  });
  options.onActivity?.('headers');
  if (!response.ok) {
    const detail = await errorDetail(response);
    throw new ChatCompletionError(
      `POST ${url} answered ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`,
      response.status,
    );
  }
  if (!response.body) throw new ChatCompletionError(`POST ${url} answered ${response.status} without a body`);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.includes('text/event-stream')) {
    // Servers that ignore `stream: true` answer one JSON completion; accept that rather than fail.
    const text = await response.text();
    return singleCompletion(url, text, options.onContent);
  }

  const toolCalls: ChatToolCall[] = [];
  let finishReason: string | undefined;
  let done = false;
  try {
    for await (const data of readSseData(response.body)) {
      options.onActivity?.('event');
      if (data.trim() === '[DONE]') {
        done = true;
        break;
      }
      const chunk = parseChunk(url, data);
      const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
      if (!choice) continue; // usage-only chunks (stream_options.include_usage) have no choices
      const delta = (choice.delta ?? {}) as { content?: unknown; tool_calls?: ChunkToolCallDelta[] };
      if (typeof delta.content === 'string' && delta.content.length > 0) options.onContent(delta.content);
      if (Array.isArray(delta.tool_calls)) for (const part of delta.tool_calls) mergeToolCall(toolCalls, part);
      if (typeof choice.finish_reason === 'string') finishReason = choice.finish_reason;
    }
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof ChatCompletionError) throw err;
    throw new ChatCompletionError(`POST ${url}: the stream broke off: ${describeNetworkError(err)}`);
  }
  if (signal.aborted) throw signal.reason;
  if (!done && finishReason === undefined) {
    throw new ChatCompletionError(`POST ${url}: the stream ended without a finish_reason or [DONE]`);
  }
  return { toolCalls: toolCalls.filter((c) => c !== undefined), finishReason };
}

function parseChunk(url: string, data: string): { choices?: Array<{ delta?: unknown; finish_reason?: unknown }> } {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    throw new ChatCompletionError(`POST ${url}: malformed SSE data (not JSON): ${clip(data)}`);
  }
  if (typeof chunk !== 'object' || chunk === null) {
    throw new ChatCompletionError(`POST ${url}: malformed SSE data (not an object): ${clip(data)}`);
  }
  const error = (chunk as { error?: { message?: unknown } }).error;
  if (error) {
    // Providers report mid-stream failures (overload, content filter) as an error object in a data line.
    const message = typeof error === 'object' && typeof error.message === 'string' ? error.message : clip(JSON.stringify(error));
    throw new ChatCompletionError(`POST ${url}: the stream reported an error: ${message}`);
  }
  return chunk as { choices?: Array<{ delta?: unknown; finish_reason?: unknown }> };
}

/** Tool calls stream as fragments keyed by index: the first carries id and name, the rest argument pieces. */
function mergeToolCall(calls: ChatToolCall[], part: ChunkToolCallDelta): void {
  let index = part.index;
  if (typeof index !== 'number') {
    // Ollama sends whole calls without `index`: a new id starts a new call, no id continues the last.
    const last = calls.length - 1;
    index = last < 0 || (part.id !== undefined && calls[last].id !== '' && calls[last].id !== part.id) ? calls.length : last;
  }
  let call = calls[index];
  if (!call) {
    call = { id: '', type: 'function', function: { name: '', arguments: '' } };
    calls[index] = call;
  }
  if (part.id) call.id = part.id;
  if (part.function?.name) call.function.name += part.function.name;
  if (part.function?.arguments) call.function.arguments += part.function.arguments;
}

function singleCompletion(url: string, text: string, onContent: (t: string) => void): ChatCompletionResult {
  let body: { choices?: Array<{ message?: { content?: unknown; tool_calls?: ChatToolCall[] }; finish_reason?: string }> };
  try {
    body = JSON.parse(text);
  } catch {
    throw new ChatCompletionError(`POST ${url}: expected an SSE stream or a JSON completion, got: ${clip(text)}`);
  }
  const choice = body.choices?.[0];
  if (!choice?.message) throw new ChatCompletionError(`POST ${url}: the completion has no choices[0].message`);
  if (typeof choice.message.content === 'string' && choice.message.content) onContent(choice.message.content);
  return { toolCalls: choice.message.tool_calls ?? [], finishReason: choice.finish_reason };
}

async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error?.message) return parsed.error.message;
    if (parsed.message) return parsed.message;
  } catch {
    // not JSON: show the raw text
  }
  return clip(text);
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}

function clip(text: string, max = 200): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
