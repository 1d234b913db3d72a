/**
 * A local double of alphacep's vosk-server WebSocket protocol (websocket/asr_server.py).
 *
 * As asr_server.py does, it takes a text frame containing "config" as `{"config": {...}}` (invalid JSON
 * there kills the connection with 1011), creates the recognizer on the first other frame with the
 * config seen so far (sample_rate default 8000, words, phrase_list), answers every binary chunk with a
 * `{"partial" : "..."}` or, at its endpoint, a `{"result" : [...], "text" : "..."}`, and answers the
 * exact text `{"eof" : 1}` with the final result and a 1000 close. Any other text frame is handed to
 * AcceptWaveform by the real server, which raises: the connection closes with 1011. Answers are
 * pretty-printed with " : " separators, as Vosk's JSON writer does.
 *
 * vosk-server itself has no auth; `requireBearer` plays a reverse proxy in front of it that answers
 * the upgrade with 401. The double cannot recognize speech: tests script what the caller said.
 * A phrase-list recognizer only knows the list's words: others come out as "[unk]", as in Vosk.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { SttDoubleConnection, SttWebSocketDouble, type Scripted } from './websocket-stt-double.js';

export interface VoskUtteranceScript {
  /** Partial transcripts, one more every `partialEveryMs` of audio (repeated in between, as Vosk does). */
  partials?: string[];
  partialEveryMs?: number;
  /** Vosk's own endpointer: the final result goes out once this much audio of the utterance arrived. */
  endpointAfterMs?: number;
  /** Word confidences (one per word, or one for all). Default 1. */
  conf?: number | number[];
}

type ScriptedUtterance = Scripted<VoskUtteranceScript>;

export interface VoskRecognizerConfig {
  sample_rate: number;
  words: boolean;
  phrase_list?: string[];
  max_alternatives?: number;
}

const EOF = '{"eof" : 1}';

/** Vosk's JSON writer: two-space indentation and " : " between key and value. */
export function voskJson(value: object): string {
  return JSON.stringify(value, null, 2).replace(/^(\s*"[^"]*"): /gm, '$1 : ');
}

export class VoskConnection extends SttDoubleConnection {
  /** The config frames received, parsed. */
  readonly configs: Array<Record<string, unknown>> = [];
  /** The recognizer's settings, fixed by the first non-config frame. */
  recognizer: VoskRecognizerConfig | undefined;
  /** Text frames other than config, in order (eof...). */
  readonly textMessages: string[] = [];
  private pendingConfig: Partial<VoskRecognizerConfig> = {};
  /** A hung recognizer: frames are recorded but never answered. */
  private stalled = false;
  private utteranceStartBytes = 0;

  constructor(
    socket: WebSocket,
    headers: IncomingHttpHeaders,
    private readonly utterances: ScriptedUtterance[],
  ) {
    super(socket, headers);
  }

  /** Resolves once the client sent its config frame (so its socket is open). */
  waitForConfig(): Promise<void> {
    return this.waitFor(() => this.configs.length > 0);
  }

  waitForText(text: string): Promise<void> {
    return this.waitFor(() => this.textMessages.includes(text));
  }

  /** Closes from the server side, e.g. 1011 as after an exception in the recognizer. */
  drop(code = 1011, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** From now on answer nothing (a recognizer stuck on an overloaded server). */
  stall(): void {
    this.stalled = true;
  }

  protected override onFrame(data: Buffer, isBinary: boolean): void {
    const text = isBinary ? undefined : data.toString('utf8');
    if (text !== undefined && text.includes('config')) {
      try {
        const config = (JSON.parse(text) as { config: Record<string, unknown> }).config;
        this.configs.push(config);
        if ('phrase_list' in config) this.pendingConfig.phrase_list = config.phrase_list as string[];
        if ('sample_rate' in config) this.pendingConfig.sample_rate = Number(config.sample_rate);
        if ('words' in config) this.pendingConfig.words = Boolean(config.words);
        if ('max_alternatives' in config) this.pendingConfig.max_alternatives = Number(config.max_alternatives);
      } catch {
        this.socket.close(1011, '');
      }
      return;
    }
    this.recognizer ??= { sample_rate: 8000, words: true, ...this.pendingConfig };
    if (this.stalled) {
      if (text !== undefined) this.textMessages.push(text);
      else this.audioMessages.push(data);
      return;
    }
    if (text !== undefined) {
      this.textMessages.push(text);
      if (text === EOF) {
        this.sendFinal(this.audioBytes > this.utteranceStartBytes ? this.utterances.shift() : undefined);
        this.socket.close(1000, '');
      } else {
        this.socket.close(1011, '');
      }
      return;
    }
    this.recordAudio(data);
    const script = this.utterances[0];
    const heardMs = ((this.audioBytes - this.utteranceStartBytes) / (this.recognizer.sample_rate * 2)) * 1000;
    if (script?.endpointAfterMs !== undefined && heardMs >= script.endpointAfterMs) {
      this.sendFinal(this.utterances.shift());
    } else {
      const partials = script?.partials ?? [];
      const index = Math.min(partials.length, Math.floor(heardMs / (script?.partialEveryMs ?? 100))) - 1;
      this.socket.send(voskJson({ partial: index >= 0 ? this.recognize(partials[index]!) : '' }));
    }
  }

  private sendFinal(script: ScriptedUtterance | undefined): void {
    this.utteranceStartBytes = this.audioBytes;
    const text = script ? this.recognize(script.text) : '';
    const words = text === '' ? [] : text.split(' ');
    if (!this.recognizer!.words || words.length === 0) {
      this.socket.send(voskJson({ text }));
      return;
    }
    const step = 0.3;
    const result = words.map((word, i) => {
      const conf = Array.isArray(script!.conf) ? (script!.conf[i] ?? 1) : (script!.conf ?? 1);
      return { conf, end: (i + 1) * step, start: i * step, word };
    });
    this.socket.send(voskJson({ result, text }));
  }

  /** A grammar (phrase list) recognizer maps words outside the list to [unk]. */
  private recognize(said: string): string {
    const words = said.toLowerCase().split(/\s+/).filter((w) => w !== '');
    const list = this.recognizer?.phrase_list;
    if (!list) return words.join(' ');
    const known = new Set(list.flatMap((p) => p.toLowerCase().split(/\s+/)));
    return words.map((w) => (known.has(w) ? w : '[unk]')).join(' ');
  }
}

/** What nginx answers when the proxy in front of vosk-server refuses the credentials. */
const NGINX_401_PAGE = '<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n</body>\r\n</html>\r\n';

export class VoskServer extends SttWebSocketDouble<VoskConnection, VoskUtteranceScript> {
  private constructor(private readonly requireBearer: string | undefined) {
    // The websockets library answers a plain HTTP request this way.
    super((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('Failed to open a WebSocket connection: missing Connection header.\n');
    });
  }

  static async start(options: { requireBearer?: string } = {}): Promise<VoskServer> {
    return new VoskServer(options.requireBearer).listen();
  }

  protected override upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.requireBearer !== undefined && req.headers.authorization !== `Bearer ${this.requireBearer}`) {
      return this.refuse(req, socket, 401, { headers: { Server: 'nginx', 'Content-Type': 'text/html' }, body: NGINX_401_PAGE });
    }
    this.accept(req, socket, head, (ws) => new VoskConnection(ws, req.headers, this.utterances));
  }
}
