/**
 * A local double of the OpenAI Chat Completions endpoint (`POST /v1/chat/completions`) speaking the
 * streaming wire format exactly: `data: {chunk}` SSE events with `object: "chat.completion.chunk"`,
 * `choices[{index, delta, finish_reason}]`, tool-call deltas split across chunks, then `data: [DONE]`.
 *
 * Each request is answered by the next queued script; a script writes chunks through ChatStreamReply
 * and can await test-controlled promises between them, so a test can prove what the client did while
 * the rest of the answer was not generated yet. Every request is recorded (headers and JSON body).
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { FakeVendorServer, receive, RequestLog } from './fake-vendor-server.js';

export interface RecordedChatRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (model, messages, tools, stream...). */
  body: {
    model?: string;
    stream?: boolean;
    messages: Array<{ role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
    tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
    temperature?: number;
    max_tokens?: number;
  };
}

export type ChatScript = (reply: ChatStreamReply, request: RecordedChatRequest) => void | Promise<void>;

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let completionCounter = 0;

export class ChatStreamReply {
  private readonly id = `chatcmpl-double${++completionCounter}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private roleSent = false;
  /** Resolves when the client closed the connection before the reply ended (an aborted stream). */
  readonly clientGone: Promise<void>;
  private gone = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly model: string,
  ) {
    this.clientGone = new Promise((resolve) =>
      res.on('close', () => {
        if (!res.writableFinished) {
          this.gone = true;
          resolve();
        }
      }),
    );
  }

  get clientDisconnected(): boolean {
    return this.gone;
  }

  /** Sends nothing more but keeps the connection open (a model server that stalled); resolves once the client gives up. */
  stall(): Promise<void> {
    return this.clientGone;
  }

  /** One content delta chunk. */
  content(text: string): void {
    this.chunk({ content: text });
  }

  /** Streams each piece as its own chunk ("Hello", " there", ". "). */
  contentPieces(...pieces: string[]): void {
    for (const p of pieces) this.content(p);
  }

  /** A tool-call delta: the first fragment of a call carries id and name, later ones argument pieces. */
  toolCallDelta(index: number, fragment: { id?: string; name?: string; arguments?: string }): void {
    const call: Record<string, unknown> = { index };
    if (fragment.id) {
      call.id = fragment.id;
      call.type = 'function';
    }
    const fn: Record<string, string> = {};
    if (fragment.name !== undefined) fn.name = fragment.name;
    if (fragment.arguments !== undefined) fn.arguments = fragment.arguments;
    call.function = fn;
    this.chunk({ tool_calls: [call] });
  }

  /** A whole tool call the way OpenAI streams it: id+name with empty arguments, then arguments in pieces. */
  toolCall(index: number, id: string, name: string, args: Record<string, unknown>, pieces = 3): void {
    this.toolCallDelta(index, { id, name, arguments: '' });
    const json = JSON.stringify(args);
    const size = Math.ceil(json.length / pieces);
    for (let i = 0; i < json.length; i += size) this.toolCallDelta(index, { arguments: json.slice(i, i + size) });
  }

  /** The final chunk (empty delta with finish_reason), `data: [DONE]`, end of response. */
  finish(reason: 'stop' | 'tool_calls' | 'length' = 'stop'): void {
    this.writeChunk({}, reason);
    this.write('data: [DONE]\n\n');
    this.res.end();
  }

  /** Raw bytes on the stream (malformed data, comments, odd line ends). */
  raw(text: string): void {
    this.write(text);
  }

  end(): void {
    this.ensureHead();
    this.res.end();
  }

  /** An HTTP error answer in OpenAI's error shape (only before any chunk was sent). */
  error(status: number, message: string, type = 'invalid_request_error'): void {
    if (this.started) throw new Error('error() after the stream started');
    this.started = true;
    this.res.writeHead(status, { 'content-type': 'application/json' });
    this.res.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
  }

  private chunk(delta: Record<string, unknown>): void {
    if (!this.roleSent) {
      this.roleSent = true;
      delta = { role: 'assistant', ...delta };
    }
    this.writeChunk(delta, null);
  }

  private writeChunk(delta: Record<string, unknown>, finishReason: string | null): void {
    const chunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: 'fp_double',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    this.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }

  private ensureHead(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    this.res.flushHeaders();
  }

  private write(text: string): void {
    this.ensureHead();
    if (!this.res.destroyed) this.res.write(text);
  }
}

export class OpenAiChatServer {
  private readonly log = new RequestLog<RecordedChatRequest>();
  readonly requests = this.log.entries;
  private readonly scripts: ChatScript[] = [];
  /** Script runs still in progress (awaited on close so a failing script surfaces). */
  private readonly running = new Set<Promise<void>>();
  readonly scriptErrors: unknown[] = [];
  private readonly server = new FakeVendorServer(async (req, res) => {
    const received = await receive(req);
    this.handle(received.method, received.url, received.headers, received.text, res);
  });
  private constructor() {}

  /** The `baseUrl` to give the LLM bot. */
  get baseUrl(): string {
    return `${this.server.origin}/v1`;
  }

  static async start(): Promise<OpenAiChatServer> {
    const instance = new OpenAiChatServer();
    await instance.server.listen();
    return instance;
  }

  /** Queues scripts; each answers one request, in order. */
  script(...scripts: ChatScript[]): void {
    this.scripts.push(...scripts);
  }

  /** Resolves with request number `n` (0-based) once it has arrived. */
  async request(n: number): Promise<RecordedChatRequest> {
    return this.log.nth(n);
  }

  async close(): Promise<void> {
    await this.server.close();
    await Promise.allSettled([...this.running]);
  }

  private handle(method: string, url: string, headers: IncomingHttpHeaders, text: string, res: ServerResponse): void {
    if (method !== 'POST' || !url.split('?')[0].endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Unknown request URL: ${method} ${url}`, type: 'invalid_request_error' } }));
      return;
    }
    let body: RecordedChatRequest['body'];
    try {
      body = JSON.parse(text);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error' } }));
      return;
    }
    const request: RecordedChatRequest = { method, url, headers, body };
    this.log.add(request);
    const script = this.scripts.shift();
    const reply = new ChatStreamReply(res, body.model ?? 'unknown');
    if (!script) {
      reply.error(500, `openai-chat-server: no script queued for request #${this.requests.length}`, 'server_error');
      return;
    }
    const run = Promise.resolve()
      .then(() => script(reply, request))
      .catch((err: unknown) => {
        this.scriptErrors.push(err);
        if (!res.headersSent) reply.error(500, `openai-chat-server: script failed: ${String(err)}`, 'server_error');
        else res.destroy();
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }
}

/** A script that streams `sentences` word by word, then finishes. */
export function answer(...sentences: string[]): ChatScript {
  return (reply) => {
    const text = sentences.join(' ');
    reply.contentPieces(...text.split(/(?<= )/));
    reply.finish('stop');
  };
}
