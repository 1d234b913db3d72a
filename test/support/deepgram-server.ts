/**
 * A local double of Deepgram's live streaming endpoint (`GET /v1/listen` upgraded to WebSocket).
 *
 * Like Deepgram it rejects the upgrade with HTTP 401 (`dg-error` header + JSON body) when the
 * `Authorization: Token <key>` header is wrong, and with 400 when `encoding`/`sample_rate` are missing
 * or invalid; it takes binary audio, answers KeepAlive silently, flushes on Finalize (`from_finalize`),
 * and on CloseStream sends the pending final, then `Metadata`, then closes with 1000.
 *
 * The double cannot recognize speech: a test scripts what the caller "said" with nextUtterance(); the
 * script is answered with interim Results while audio arrives and a final on Finalize, on CloseStream or
 * once `finalAfterMs` of audio arrived (Deepgram's own endpointing, `speech_final: true`).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { sendJson } from './fake-vendor-server.js';
import { SttDoubleConnection, SttWebSocketDouble, type Scripted } from './websocket-stt-double.js';

export interface UtteranceScript {
  /** Interim transcripts, sent one per `interimEveryMs` of audio received for this utterance. */
  interim?: string[];
  /** Audio (ms) between interim results. Default 100. */
  interimEveryMs?: number;
  /** Send the final by itself (endpointing) once this much audio of the utterance arrived. */
  finalAfterMs?: number;
  confidence?: number;
}

type ScriptedUtterance = Scripted<UtteranceScript>;

export interface ControlMessage {
  type: string;
  [key: string]: unknown;
}

const MODEL_INFO = { name: 'general-nova-2', version: '2024-01-18.26916', arch: 'nova-2' };
const MODEL_UUID = 'c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c';

export class DeepgramConnection extends SttDoubleConnection {
  readonly requestId = randomUUID();
  readonly query: URLSearchParams;
  /** Every text message the client sent, parsed (KeepAlive, Finalize, CloseStream...). */
  readonly controlMessages: ControlMessage[] = [];
  private readonly bytesPerSecond: number;
  private readonly punctuate: boolean;
  /** Audio bytes received before the current utterance started (Results' `start`). */
  private utteranceStartBytes = 0;
  private interimsSent = 0;
  private stalled = false;

  constructor(
    socket: WebSocket,
    readonly url: string,
    headers: IncomingHttpHeaders,
    private readonly takeUtterance: () => ScriptedUtterance | undefined,
    private readonly peekUtterance: () => ScriptedUtterance | undefined,
  ) {
    super(socket, headers);
    this.query = new URL(url, 'http://127.0.0.1').searchParams;
    this.bytesPerSecond = Number(this.query.get('sample_rate')) * 2 * Number(this.query.get('channels') ?? '1');
    this.punctuate = this.query.get('punctuate') === 'true';
  }

  /** Resolves once the client sent a control message of this type (counting earlier ones). */
  waitForControl(type: string, count = 1): Promise<ControlMessage> {
    return this.waitFor(() => this.controlMessages.filter((m) => m.type === type).length >= count).then(
      () => this.controlMessages.filter((m) => m.type === type)[count - 1]!,
    );
  }

  /** From now on the stream stays open and takes audio but answers nothing (a recognizer that hung). */
  stall(): void {
    this.stalled = true;
  }

  /** Closes the stream from the server side as Deepgram does on an error (e.g. 1011 NET-0001). */
  drop(code = 1011, reason = 'NET-0001'): void {
    this.socket.close(code, reason);
  }

  protected override onFrame(data: Buffer, isBinary: boolean): void {
    if (this.stalled) {
      if (isBinary) this.recordAudio(data);
      return;
    }
    if (isBinary) this.onAudio(data);
    else this.onControl(data.toString('utf8'));
  }

  private onAudio(data: Buffer): void {
    this.recordAudio(data);
    const script = this.peekUtterance();
    if (script) {
      const heardMs = ((this.audioBytes - this.utteranceStartBytes) / this.bytesPerSecond) * 1000;
      const interims = script.interim ?? [];
      const every = script.interimEveryMs ?? 100;
      while (this.interimsSent < interims.length && heardMs >= (this.interimsSent + 1) * every) {
        this.sendResults(interims[this.interimsSent]!, { isFinal: false, speechFinal: false, fromFinalize: false }, script);
        this.interimsSent++;
      }
      if (script.finalAfterMs !== undefined && heardMs >= script.finalAfterMs) {
        this.finishUtterance({ fromFinalize: false, speechFinal: true });
      }
    }
  }

  private onControl(text: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(text) as ControlMessage;
    } catch {
      // Deepgram answers a non-JSON text frame by closing with DATA-0000-style 1008.
      this.socket.close(1008, 'DATA-0000');
      return;
    }
    this.controlMessages.push(message);
    switch (message.type) {
      case 'KeepAlive':
        break;
      case 'Finalize':
        this.finishUtterance({ fromFinalize: true, speechFinal: false });
        break;
      case 'CloseStream':
        if (this.peekUtterance() && this.audioBytes > this.utteranceStartBytes) {
          this.finishUtterance({ fromFinalize: false, speechFinal: true });
        }
        this.socket.send(
          JSON.stringify({
            type: 'Metadata',
            transaction_key: 'deprecated',
            request_id: this.requestId,
            sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
            created: new Date().toISOString(),
            duration: this.audioBytes / this.bytesPerSecond,
            channels: 1,
            models: [MODEL_UUID],
            model_info: { [MODEL_UUID]: MODEL_INFO },
          }),
        );
        this.socket.close(1000, '');
        break;
    }
  }

  private finishUtterance(flags: { fromFinalize: boolean; speechFinal: boolean }): void {
    const script = this.takeUtterance();
    // Finalize with nothing scripted still gets a (silent) final, as Deepgram answers with an empty transcript.
    this.sendResults(script?.text ?? '', { isFinal: true, ...flags }, script);
    this.utteranceStartBytes = this.audioBytes;
    this.interimsSent = 0;
  }

  private sendResults(
    said: string,
    flags: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean },
    script: UtteranceScript | undefined,
  ): void {
    const start = this.utteranceStartBytes / this.bytesPerSecond;
    const duration = (this.audioBytes - this.utteranceStartBytes) / this.bytesPerSecond;
    const confidence = said === '' ? 0 : (script?.confidence ?? 0.98);
    const punctuated = said.split(/\s+/).filter((w) => w !== '');
    const plain = punctuated.map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''));
    const step = punctuated.length > 0 ? duration / punctuated.length : 0;
    const words = punctuated.map((w, i) => ({
      word: plain[i],
      start: start + i * step,
      end: start + (i + 1) * step,
      confidence,
      ...(this.punctuate ? { punctuated_word: w } : {}),
    }));
    this.socket.send(
      JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration,
        start,
        is_final: flags.isFinal,
        speech_final: flags.speechFinal,
        from_finalize: flags.fromFinalize,
        channel: {
          alternatives: [{ transcript: this.punctuate ? punctuated.join(' ') : plain.join(' '), confidence, words }],
        },
        metadata: { request_id: this.requestId, model_info: MODEL_INFO, model_uuid: MODEL_UUID },
      }),
    );
  }
}

export class DeepgramServer extends SttWebSocketDouble<DeepgramConnection, UtteranceScript> {
  private constructor(readonly apiKey: string) {
    // The live endpoint is WebSocket only: a plain request is told to upgrade.
    super((_req, res) => sendJson(res, 426, { err_code: 'Upgrade Required' }));
  }

  static async start(apiKey = 'dg-test-key'): Promise<DeepgramServer> {
    return new DeepgramServer(apiKey).listen();
  }

  /** Checks what Deepgram checks before upgrading: path, `Token` auth, encoding and sample_rate. */
  protected override upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reject = (status: number, errCode: string, message: string): void => {
      const requestId = randomUUID();
      this.refuse(req, socket, status, {
        headers: { 'content-type': 'application/json', 'dg-error': message, 'dg-request-id': requestId },
        body: JSON.stringify({ err_code: errCode, err_msg: message, request_id: requestId }),
      });
    };
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (parsed.pathname !== '/v1/listen') return reject(404, 'NOT_FOUND', `No such endpoint ${parsed.pathname}`);
    if (req.headers.authorization !== `Token ${this.apiKey}`) {
      return reject(401, 'INVALID_AUTH', 'Invalid credentials.');
    }
    const encoding = parsed.searchParams.get('encoding');
    const sampleRate = parsed.searchParams.get('sample_rate');
    if (encoding === null) return reject(400, 'Bad Request', 'encoding is required for raw audio');
    if (!['linear16', 'linear32', 'mulaw', 'alaw', 'opus', 'flac'].includes(encoding)) {
      return reject(400, 'Bad Request', `Unsupported encoding ${encoding}`);
    }
    if (sampleRate === null || !/^[1-9]\d*$/.test(sampleRate)) {
      return reject(400, 'Bad Request', 'sample_rate must be a positive integer when encoding is set');
    }
    this.accept(req, socket, head, (ws) => new DeepgramConnection(ws, req.url ?? '/', req.headers, () => this.utterances.shift(), () => this.utterances[0]));
  }
}
