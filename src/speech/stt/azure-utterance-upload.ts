/**
 * One streamed POST to Azure's short-audio recognizer: the request opens at the first frame of an
 * utterance and audio is sent with chunked transfer encoding as the caller speaks, so recognition
 * can finish soon after the last chunk instead of after a whole-file upload.
 *
 * Azure's documentation requires `Expect: 100-continue` with chunked audio (the service acknowledges
 * the request before taking data). fetch() refuses that header, so this uses node:http(s) directly:
 * chunks are held until the 100 Continue arrives, and a final status sent instead of it (401, 400)
 * ends the upload at once.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import { AzureSttError } from './azure-stt-error.js';

/** Recognition answers are small JSON; a longer body is not one. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** A proxy that swallows `Expect` never sends 100 Continue; like curl, send the body anyway after this wait. */
const CONTINUE_WAIT_MS = 1000;

export interface AzureAnswer {
  status: number;
  body: string;
}

export class AzureUtteranceUpload {
  /** Settles once with Azure's answer or an AzureSttError; never left unobserved (see constructor). */
  readonly answer: Promise<AzureAnswer>;
  private resolveAnswer!: (answer: AzureAnswer) => void;
  private rejectAnswer!: (error: AzureSttError) => void;
  private request: ClientRequest | undefined;
  /** Chunks written before the request exists or before Azure's 100 Continue. */
  private queue: Buffer[] = [];
  private accepting = false;
  private ended = false;
  private settled = false;
  private answered = false;
  private deadline: TimerHandle | undefined;
  private continueWait: TimerHandle | undefined;
  bytesSent = 0;

  constructor(
    private readonly url: URL,
    private readonly timeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.answer = new Promise<AzureAnswer>((resolve, reject) => {
      this.resolveAnswer = resolve;
      this.rejectAnswer = reject;
    });
    // The session awaits `answer` in utterance order, maybe after it already failed.
    this.answer.catch(() => undefined);
  }

  /** Opens the request once the auth header is known (a token may have to be fetched first). */
  open(headers: Record<string, string>): void {
    if (this.settled) return;
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(this.url, {
      method: 'POST',
      headers: {
        ...headers,
        'Content-Type': 'audio/wav; codecs=audio/pcm; samplerate=16000',
        Accept: 'application/json',
        'Transfer-Encoding': 'chunked',
        Expect: '100-continue',
      },
    });
    this.request = req;
    const accept = (): void => {
      this.continueWait?.cancel();
      if (this.accepting || this.settled || this.answered) return;
      this.accepting = true;
      this.flush();
    };
    req.on('continue', accept);
    this.continueWait = this.clock.setTimeout(accept, CONTINUE_WAIT_MS);
    req.on('response', (res) => this.onResponse(res));
    let connected = false;
    req.on('socket', (socket) => {
      // A kept-alive socket is already connected and emits no 'connect'.
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('error', (err) => this.fail(connectionError(err, connected)));
    req.flushHeaders();
  }

  write(chunk: Buffer): void {
    if (this.ended || this.settled || this.answered || chunk.byteLength === 0) return;
    this.queue.push(chunk);
    if (this.accepting) this.flush();
  }

  /** The utterance is over: finish the body and start the answer deadline. */
  end(): void {
    if (this.ended || this.settled) return;
    this.ended = true;
    if (this.accepting) this.flush();
    this.deadline = this.clock.setTimeout(
      () => this.fail(new AzureSttError(`Azure STT: no answer from Azure within ${this.timeoutMs} ms of the end of the utterance (requestTimeoutMs)`)),
      this.timeoutMs,
    );
  }

  /** Fails the upload (closing the connection) unless it already settled. */
  fail(error: AzureSttError): void {
    if (this.settled) return;
    this.settled = true;
    this.deadline?.cancel();
    this.continueWait?.cancel();
    this.queue = [];
    this.request?.destroy();
    this.rejectAnswer(error);
  }

  private flush(): void {
    const req = this.request!;
    for (const chunk of this.queue) {
      req.write(chunk);
      this.bytesSent += chunk.byteLength;
    }
    this.queue = [];
    if (this.ended && !req.writableEnded) req.end();
  }

  private onResponse(res: IncomingMessage): void {
    // Azure may answer before the body ended (its own endpointing, or an auth error instead of 100 Continue).
    this.accepting = false;
    this.answered = true;
    this.continueWait?.cancel();
    this.queue = [];
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_ANSWER_BYTES) {
        this.fail(new AzureSttError(`Azure STT: answer larger than ${MAX_ANSWER_BYTES} bytes; not a recognition result`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => {
      if (this.settled) return;
      this.settled = true;
      this.deadline?.cancel();
      this.resolveAnswer({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      // An answer before the body finished: stop sending the rest of the utterance.
      if (this.request && !this.request.writableEnded) this.request.destroy();
    });
    res.on('error', (err) => this.fail(connectionError(err, true)));
    res.on('close', () => this.fail(new AzureSttError('Azure STT: connection to Azure lost while reading the answer')));
  }
}

function connectionError(err: Error, midRequest: boolean): AzureSttError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = midRequest ? 'connection to Azure lost during recognition' : 'could not connect to Azure';
  return new AzureSttError(`Azure STT: ${where}${code ? ` (${code})` : ''}: ${err.message}`);
}
