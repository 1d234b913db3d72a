/**
 * What the WebSocket STT doubles (Deepgram, Vosk) share, so each file is only its vendor's protocol:
 * - SttWebSocketDouble: the server. It answers a plain HTTP request the vendor's way, hands every
 *   upgrade to the double's checks, records it with the status it got, keeps the accepted
 *   connections (a test can wait for the nth) and the queue of scripted utterances: a double cannot
 *   recognize speech, so a test says what the caller "said".
 * - SttDoubleConnection: one accepted stream. It records the audio, resolves `closed`, lets a test
 *   wait for what the client sent, and close (drop), cut or spoil (sendRaw) the stream from the
 *   server side.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { dropConnection, FakeVendorServer, refuseUpgrade, RequestLog, type VendorRoute } from './fake-vendor-server.js';

export interface UpgradeRecord {
  url: string;
  headers: IncomingHttpHeaders;
  /** 101 when accepted, else the status it was refused with. */
  status: number;
}

export type Scripted<Script> = Script & { text: string };

export abstract class SttWebSocketDouble<Connection, Script extends object> {
  private readonly accepted = new RequestLog<Connection>();
  /** Every accepted connection, in order. */
  readonly connections = this.accepted.entries;
  /** Every upgrade request, including refused ones. */
  readonly upgradeRequests: UpgradeRecord[] = [];
  /** What the caller says next, in order; a connection takes an utterance once it is final. */
  protected readonly utterances: Array<Scripted<Script>> = [];
  protected readonly server: FakeVendorServer;

  /** `plainRequest` answers a request that did not ask to upgrade, as the vendor does. */
  constructor(plainRequest: VendorRoute) {
    this.server = new FakeVendorServer(plainRequest);
    this.server.onUpgrade((req, socket, head) => this.upgrade(req, socket, head));
  }

  /** Checks what the vendor checks before upgrading, then accept() or refuse(). */
  protected abstract upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;

  protected async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  /** The base URL to give the provider. */
  get url(): string {
    return `ws://127.0.0.1:${this.server.port}`;
  }

  /** Scripts what the caller says next: the transcript this double will return. */
  nextUtterance(text: string, script?: Script): void {
    this.utterances.push({ ...script, text } as Scripted<Script>);
  }

  /** Resolves with the n-th accepted connection (0-based), waiting for it if needed. */
  connection(index = 0): Promise<Connection> {
    return this.accepted.nth(index);
  }

  async close(): Promise<void> {
    await this.server.close();
  }

  /** Completes the upgrade; `open` wraps the socket in the vendor's connection. */
  protected accept(req: IncomingMessage, socket: Duplex, head: Buffer, open: (ws: WebSocket) => Connection): void {
    this.upgradeRequests.push({ url: req.url ?? '/', headers: req.headers, status: 101 });
    this.server.acceptWebSocket(req, socket, head, (ws) => this.accepted.add(open(ws)));
  }

  /** Refuses the upgrade with the vendor's (or its proxy's) HTTP answer. */
  protected refuse(req: IncomingMessage, socket: Duplex, status: number, answer: Parameters<typeof refuseUpgrade>[2]): void {
    this.upgradeRequests.push({ url: req.url ?? '/', headers: req.headers, status });
    refuseUpgrade(socket, status, answer);
  }
}

export abstract class SttDoubleConnection extends EventEmitter {
  /** Every binary message, in arrival order. */
  readonly audioMessages: Buffer[] = [];
  audioBytes = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly headers: IncomingHttpHeaders,
  ) {
    super();
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
    socket.on('message', (data: Buffer, isBinary) => {
      this.onFrame(data, isBinary);
      // After the frame is handled, so a waiting test sees what the double made of it.
      this.emit('frame');
    });
  }

  /** The vendor's answer to one frame from the client. */
  protected abstract onFrame(data: Buffer, isBinary: boolean): void;

  /** The audio received so far as one buffer. */
  audio(): Buffer {
    return Buffer.concat(this.audioMessages);
  }

  /** Resolves once at least `bytes` of audio arrived. */
  waitForAudioBytes(bytes: number): Promise<void> {
    return this.waitFor(() => this.audioBytes >= bytes);
  }

  /** Cuts the TCP connection without a close frame. */
  cut(): void {
    dropConnection(this.socket);
  }

  /** Sends an arbitrary text frame (garbage, truncated JSON...). */
  sendRaw(text: string): void {
    this.socket.send(text);
  }

  protected recordAudio(data: Buffer): void {
    this.audioMessages.push(data);
    this.audioBytes += data.byteLength;
  }

  /** Resolves once `done()` holds, checked now and after every frame. */
  protected waitFor(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        this.off('frame', check);
        resolve();
      };
      this.on('frame', check);
      check();
    });
  }
}
