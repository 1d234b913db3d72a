/**
 * A browser-style WebRTC caller in Node (werift), for tests and the benchmark: it opens the data
 * channel `voxgate` and an audio transceiver, offers Opus (or PCMU only) with telephone-event, waits
 * for ICE gathering, POSTs the offer to /webrtc/whip with a bearer token and an Origin, and applies the
 * answer, as the console softphone does. Then it sends audio as 20 ms RTP packets paced by the clock
 * (silence, or a WAV/PCM queued by the test), records what it receives (decoded PCM), sends keys by
 * RFC 4733 and by the data channel, collects the page events, and hangs up by DELETE or by closing.
 */
import { OpusCodec } from '../../src/media/opus.js';
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, type RTCDataChannel, type RTCRtpTransceiver } from 'werift';
import { decodeMuLaw, encodeMuLaw } from '../../src/media/g711.js';
import { readWavFile } from '../../src/media/wav.js';
import { resample } from '../../src/media/resample.js';
import { rmsDbfs } from '../../src/media/audio.js';
import { eventOfDtmfDigit, writeTelephoneEvent } from '../../src/carriers/rtp-media/telephone-event.js';
import type { PageCallEvent } from '../../src/carriers/carrier.js';

/** The rate the client works at: Opus is decoded to and encoded from 16 kHz; PCMU is 8 kHz. */
const OPUS_PCM_RATE = 16000;
const OPUS_PT = 111;
const OPUS_TE_PT = 110;
const PCMU_PT = 0;
const PCMU_TE_PT = 101;
/** A 20 ms packet louder than this counts as heard. */
const AUDIBLE_DBFS = -45;

export type ClientCodec = 'opus' | 'PCMU';

export interface WebRtcCallerOptions {
  /** The gateway, e.g. http://127.0.0.1:PORT */
  baseUrl: string;
  bot?: string;
  /** Bearer credential; absent: no Authorization header. */
  token?: string;
  /** The page's Origin header; absent: none (a script). */
  origin?: string;
  /** opus (with PCMU as a fallback, as a browser offers) or PCMU only. */
  codec?: ClientCodec;
  /** Open the `voxgate` data channel (default true). */
  dataChannel?: boolean;
  /** Offer telephone-event (default true). */
  telephoneEvent?: boolean;
  /** Replace the offer before it is sent (malformed-offer tests). */
  mangleOffer?: (sdp: string) => string;
  /** Content-Type of the POST (default application/sdp). */
  contentType?: string;
  /** Decode and keep what the gateway sends (default true; the benchmark's load generator saves the CPU). */
  decodeReceived?: boolean;
}

/** A refused POST: the status and the JSON error the gateway gave. */
export class WhipRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string },
    readonly headers: Headers,
  ) {
    super(`WHIP POST refused with ${status}: ${body.error ?? JSON.stringify(body)}`);
  }
}

type PageEvent = PageCallEvent | { type: 'error'; error: string };

export class WebRtcCaller {
  readonly pc: RTCPeerConnection;
  readonly channel?: RTCDataChannel;
  readonly events: PageEvent[] = [];
  /** Decoded audio received from the gateway, at `receiveRate`, in arrival order. */
  readonly received: Int16Array[] = [];
  callId = '';
  location = '';
  answerSdp = '';
  codec: ClientCodec = 'opus';
  private readonly transceiver: RTCRtpTransceiver;
  private readonly options: WebRtcCallerOptions;
  private readonly waiters: { test: (e: PageEvent) => boolean; resolve: (e: PageEvent) => void }[] = [];
  private opusEncoder?: OpusCodec;
  private opusDecoder?: OpusCodec;
  private sendQueue: Int16Array[] = [];
  private pendingDigits: number[] = [];
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private slotsSent = 0;
  private seq = Math.floor(Math.random() * 65536);
  private ts = Math.floor(Math.random() * 2 ** 31);
  private closedFlag = false;
  private audibleSoFarMs = 0;
  private readonly hearingWaiters: { ms: number; resolve: () => void }[] = [];
  private readonly closedPromise: Promise<void>;
  private teSent = { event: 0, end: false, volume: 10, duration: 0 };

  private constructor(options: WebRtcCallerOptions) {
    this.options = options;
    const codecs: RTCRtpCodecParameters[] = [];
    const te = options.telephoneEvent ?? true;
    if ((options.codec ?? 'opus') === 'opus') {
      codecs.push(new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT }));
      if (te) codecs.push(new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 48000, channels: 1, payloadType: OPUS_TE_PT }));
    }
    codecs.push(new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: PCMU_PT }));
    if (te) codecs.push(new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: PCMU_TE_PT }));
    // Loopback only: the test machine's other interfaces are not gathered.
    this.pc = new RTCPeerConnection({ codecs: { audio: codecs }, iceInterfaceAddresses: { udp4: '127.0.0.1' }, iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] });
    if (options.dataChannel ?? true) {
      this.channel = this.pc.createDataChannel('voxgate');
      this.channel.onMessage.subscribe((data) => this.onPageMessage(data));
    }
    this.transceiver = this.pc.addTransceiver('audio', { direction: 'sendrecv' });
    this.transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => this.onRtp(rtp)));
    this.closedPromise = new Promise((resolve) => {
      this.pc.connectionStateChange.subscribe((state) => {
        if (state === 'closed' || state === 'failed') resolve();
      });
      // The gateway closes the data channel as it closes the connection (a browser sees both; werift only the first at once).
      this.channel?.stateChanged.subscribe((state) => {
        if (state === 'closed') resolve();
      });
    });
  }

  /** A complete offer (gathered candidates) as the client would POST it, its peer closed again. */
  static async makeOffer(options: Pick<WebRtcCallerOptions, 'codec' | 'dataChannel' | 'telephoneEvent'> = {}): Promise<string> {
    const caller = new WebRtcCaller({ baseUrl: '', ...options });
    try {
      const offer = await caller.pc.createOffer();
      await caller.pc.setLocalDescription(offer);
      if (caller.pc.iceGatheringState !== 'complete') await caller.pc.iceGatheringStateChange.watch((s) => s === 'complete');
      return caller.pc.localDescription!.sdp;
    } finally {
      await caller.close();
    }
  }

  /** Places the call; rejects with WhipRefused when the gateway says no. */
  static async call(options: WebRtcCallerOptions): Promise<WebRtcCaller> {
    const caller = new WebRtcCaller(options);
    try {
      await caller.offer();
    } catch (err) {
      await caller.close();
      throw err;
    }
    return caller;
  }

  private async offer(): Promise<void> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    if (this.pc.iceGatheringState !== 'complete') await this.pc.iceGatheringStateChange.watch((s) => s === 'complete');
    const sdp = this.options.mangleOffer ? this.options.mangleOffer(this.pc.localDescription!.sdp) : this.pc.localDescription!.sdp;
    const res = await this.post(sdp);
    if (res.status !== 201) throw new WhipRefused(res.status, (await res.json().catch(() => ({}))) as { error?: string }, res.headers);
    this.callId = res.headers.get('x-voxgate-call-id') ?? '';
    this.location = res.headers.get('location') ?? '';
    this.answerSdp = await res.text();
    this.codec = /a=rtpmap:\d+ opus\//i.test(this.answerSdp) ? 'opus' : 'PCMU';
    if (this.codec === 'opus') {
      this.opusEncoder = new OpusCodec(OPUS_PCM_RATE);
      this.opusDecoder = new OpusCodec(OPUS_PCM_RATE);
    }
    await this.pc.setRemoteDescription({ type: 'answer', sdp: this.answerSdp });
  }

  /** The POST as a page sends it (exposed for refusal tests that send odd bodies). */
  post(body: string, extra: { contentType?: string; token?: string | null } = {}): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': extra.contentType ?? this.options.contentType ?? 'application/sdp' };
    const token = extra.token === null ? undefined : (extra.token ?? this.options.token);
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (this.options.origin) headers.origin = this.options.origin;
    const bot = this.options.bot === undefined ? '' : `?bot=${encodeURIComponent(this.options.bot)}`;
    return fetch(`${this.options.baseUrl}/webrtc/whip${bot}`, { method: 'POST', headers, body });
  }

  /** Resolves once ICE and DTLS are up; starts sending paced audio (silence until something is queued). */
  async connected(): Promise<void> {
    if (this.pc.connectionState !== 'connected') await this.pc.connectionStateChange.watch((s) => s === 'connected');
    if (this.channel && this.channel.readyState !== 'open') await this.channel.stateChanged.watch((s) => s === 'open');
    this.startSending();
  }

  /** The PCM rate audio is queued and recorded at. */
  get rate(): number {
    return this.codec === 'opus' ? OPUS_PCM_RATE : 8000;
  }

  /** Queues speech (PCM at `sampleRate`) to be sent after what is queued. */
  speak(samples: Int16Array, sampleRate: number): void {
    const pcm = resample(samples, sampleRate, this.rate);
    const frame = this.rate / 50;
    for (let i = 0; i < pcm.length; i += frame) {
      const f = new Int16Array(frame);
      f.set(pcm.subarray(i, Math.min(i + frame, pcm.length)));
      this.sendQueue.push(f);
    }
  }

  async speakWav(path: string): Promise<void> {
    const wav = await readWavFile(path);
    this.speak(wav.samples, wav.sampleRate);
  }

  /** Whether queued speech has all been sent. */
  get speaking(): boolean {
    return this.sendQueue.length > 0;
  }

  /** Presses keys by RFC 4733 (as RTCDTMFSender.insertDTMF does): 100 ms per key, 60 ms apart. */
  pressRfc4733(digits: string): void {
    for (const d of digits) {
      const e = eventOfDtmfDigit(d);
      if (e === undefined) throw new Error(`not a DTMF digit: ${d}`);
      this.pendingDigits.push(e);
    }
  }

  /** Presses keys on the page's keypad (the data channel). */
  pressKeypad(digits: string): void {
    this.sendPage({ type: 'dtmf', digits });
  }

  sendPage(message: unknown): void {
    this.channel!.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first page event (already received or coming) that passes `test`. */
  nextEvent<T extends PageEvent['type']>(type: T, test: (e: Extract<PageEvent, { type: T }>) => boolean = () => true): Promise<Extract<PageEvent, { type: T }>> {
    const match = (e: PageEvent) => e.type === type && test(e as Extract<PageEvent, { type: T }>);
    const found = this.events.find(match);
    if (found) return Promise.resolve(found as Extract<PageEvent, { type: T }>);
    return new Promise((resolve) => this.waiters.push({ test: match, resolve: resolve as (e: PageEvent) => void }));
  }

  /** DELETE on the session resource with the call's credential (or another one). */
  hangup(token: string | null | undefined = this.options.token): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (this.options.origin) headers.origin = this.options.origin;
    return fetch(new URL(this.location, this.options.baseUrl), { method: 'DELETE', headers });
  }

  /** Resolves when the peer connection or its data channel closed (by either side), or the connection failed. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** All audio received so far, joined. */
  heard(): Int16Array {
    const total = this.received.reduce((n, c) => n + c.length, 0);
    const out = new Int16Array(total);
    let off = 0;
    for (const c of this.received) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /** Milliseconds of received audio louder than `dbfs` (20 ms windows). */
  audibleMs(dbfs = AUDIBLE_DBFS): number {
    const x = this.heard();
    const frame = this.rate / 50;
    let ms = 0;
    for (let i = 0; i + frame <= x.length; i += frame) if (rmsDbfs(x.subarray(i, i + frame)) > dbfs) ms += 20;
    return ms;
  }

  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.timer) clearInterval(this.timer);
    // As a browser does on close(): its channels go first (werift's own close would tell the gateway nothing until ICE consent lapses).
    const channel = this.channel;
    if (channel && channel.readyState === 'open') {
      const channelClosed = channel.stateChanged.watch((s) => s === 'closed', 2000).catch(() => undefined);
      channel.close();
      await channelClosed;
    }
    await this.pc.close().catch(() => undefined);
    this.opusEncoder?.delete();
    this.opusDecoder?.delete();
  }

  private onPageMessage(data: string | Buffer): void {
    const event = JSON.parse(data.toString()) as PageEvent;
    this.events.push(event);
    for (const w of [...this.waiters]) {
      if (!w.test(event)) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(event);
    }
  }

  private onRtp(rtp: RtpPacket): void {
    if (this.options.decodeReceived === false) return;
    const pt = rtp.header.payloadType;
    let pcm: Int16Array;
    if (pt === OPUS_PT && this.opusDecoder) {
      const bytes = this.opusDecoder.decode(rtp.payload);
      pcm = new Int16Array(bytes.length / 2);
      for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
    } else if (pt === PCMU_PT) {
      pcm = decodeMuLaw(rtp.payload);
    } else return;
    this.received.push(pcm);
    if (rmsDbfs(pcm) > AUDIBLE_DBFS) this.audibleSoFarMs += (pcm.length * 1000) / this.rate;
    for (const w of [...this.hearingWaiters]) {
      if (this.audibleSoFarMs < w.ms) continue;
      this.hearingWaiters.splice(this.hearingWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Resolves once `ms` of audible audio (above -45 dBFS) has arrived from the gateway. */
  untilHeard(ms: number): Promise<void> {
    if (this.audibleSoFarMs >= ms) return Promise.resolve();
    return new Promise((resolve) => this.hearingWaiters.push({ ms, resolve }));
  }

  /** A 20 ms clock: one packet per elapsed slot (speech, a key's event packets, or silence). */
  private startSending(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor((performance.now() - this.startedAt) / 20);
      while (this.slotsSent <= due && !this.closedFlag) {
        this.slotsSent++;
        this.sendSlot();
      }
    }, 20);
  }

  private digitPackets = 0;
  private digitTs = 0;

  /**
   * One 20 ms slot. A key: 7 event packets sharing the key's start timestamp (durations growing to
   * 100 ms, the last three the end packet, as RFC 4733 repeats it), then 3 slots of silence before the
   * next key. Otherwise queued speech, or silence, as a microphone sends.
   */
  private sendSlot(): void {
    const step = this.codec === 'opus' ? 960 : 160;
    const silence = () => new Int16Array(this.rate / 50);
    if (this.pendingDigits.length > 0) {
      const n = this.digitPackets++;
      if (n === 0) this.digitTs = this.ts;
      if (n < 7) {
        const te = this.teSent;
        te.event = this.pendingDigits[0];
        te.end = n >= 4;
        te.duration = Math.min(n + 1, 5) * step;
        const payload = Buffer.alloc(4);
        writeTelephoneEvent(payload, 0, te);
        this.sendRtp(this.codec === 'opus' ? OPUS_TE_PT : PCMU_TE_PT, payload, n === 0, this.digitTs);
      } else {
        this.sendAudio(silence());
        if (n === 9) {
          this.pendingDigits.shift();
          this.digitPackets = 0;
        }
      }
    } else {
      this.sendAudio(this.sendQueue.shift() ?? silence());
    }
    this.ts = (this.ts + step) >>> 0;
  }

  private sendAudio(frame: Int16Array): void {
    const payload = this.codec === 'opus' ? this.opusEncoder!.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), frame.length) : Buffer.from(encodeMuLaw(frame));
    this.sendRtp(this.codec === 'opus' ? OPUS_PT : PCMU_PT, payload, false, this.ts);
  }

  /**
   * Straight to the DTLS transport: werift's RTCRtpSender rewrites every packet's payload type to the
   * audio codec's, which would turn telephone-events into (undecodable) audio.
   */
  private sendRtp(payloadType: number, payload: Buffer, marker: boolean, timestamp: number): void {
    const sender = this.transceiver.sender;
    if (sender.dtlsTransport?.state !== 'connected') return;
    const header = new RtpHeader({ payloadType, sequenceNumber: this.seq, timestamp, ssrc: sender.ssrc, marker });
    this.seq = (this.seq + 1) & 0xffff;
    void sender.dtlsTransport.sendRtp(payload, header);
  }
}
