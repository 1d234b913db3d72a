/**
 * A call from this page to a Voxgate bot over WebRTC, signalled in the shape of WHIP (RFC 9725):
 * the page POSTs its SDP offer to `<gateway>/webrtc/whip?bot=<name>` with the credential as a Bearer
 * token, applies the answer, and DELETEs the session's Location to hang up. The data channel
 * `voxgate` (created before the offer, so the offer carries it) brings the call's events (answered,
 * transcript, dtmf, transferred, ended) and takes keypad digits and hang-ups as JSON.
 *
 * Non-trickle: the offer is sent once ICE gathering is complete (or after a bound, with the
 * candidates found so far), since the gateway does not take trickled candidates.
 *
 * Shared by the console softphone and the embeddable widget: no framework, no console state.
 */
import type { PageCallEvent } from '../../carriers/carrier.js';
import { errorMessage } from '../api.js';
import { LevelMeter } from './level-meter.js';

export const DATA_CHANNEL_LABEL = 'voxgate';
/** Long enough for host and STUN candidates; a missing TURN relay should not hold a call for long. */
export const DEFAULT_ICE_GATHERING_TIMEOUT_MS = 3000;
/** After our DELETE, how long the gateway's own `ended` event (with its cause) is awaited before closing. */
const ENDED_AFTER_HANGUP_WAIT_MS = 2000;
const KEYPAD_DIGITS = /^[0-9*#A-Da-d]+$/;

export interface BrowserCallOptions {
  /** The gateway's base URL, e.g. https://voice.example.com; '' for the page's own origin (the console). */
  gatewayUrl: string;
  /** A console access token or a widget key (vxw_...), sent as `Authorization: Bearer`. */
  credential: string;
  /** The bot to call (console calls); a widget key names its bot itself. */
  bot?: string;
  /** A microphone stream to send; default getUserMedia({ audio: true }) (echo cancellation, noise suppression, auto gain on). */
  microphone?: MediaStream;
  /** STUN/TURN servers for pages behind NAT; loopback and LAN need none. */
  iceServers?: RTCIceServer[];
  iceGatheringTimeoutMs?: number;
  /** Where the bot's voice plays; default a new <audio> element (see BrowserCall.audio). */
  audio?: HTMLAudioElement;
}

export type BrowserCallState = 'connecting' | 'in-call' | 'ended';

/** How the call ended: the gateway's cause and reason, or an error that kept or took it down. */
export interface CallEnd {
  cause: string;
  reason: string;
  /** Set when the call failed: the gateway's refusal as it came (`{error}`), or what broke in the page. */
  error?: string;
}

export interface BrowserCallEvents {
  state: BrowserCallState;
  /** A line of the live transcript: the bot's, the caller's (as the gateway's STT heard it) or the system's. */
  transcript: Extract<PageCallEvent, { type: 'transcript' }>;
  /** A key the call received (from either way of sending it). */
  dtmf: Extract<PageCallEvent, { type: 'dtmf' }>;
  /** Microphone RMS in [0, 1], about ten times a second. */
  level: number;
  /** Something went wrong that the call survives (a digit not sent, an error message from the gateway). */
  error: string;
  /** Every event of the data channel, as it came. */
  event: PageCallEvent;
}

type Listener<K extends keyof BrowserCallEvents> = (value: BrowserCallEvents[K]) => void;

/** Starts a call at once; follow it with `on('state' | ...)`. Refusals end it with the gateway's error text. */
export function startBrowserCall(options: BrowserCallOptions): BrowserCall {
  return new BrowserCall(options);
}

export class BrowserCall {
  /** Plays the bot's voice (autoplay; not attached to the document unless the page does so). */
  readonly audio: HTMLAudioElement;
  state: BrowserCallState = 'connecting';
  /** Voxgate's call id (X-Voxgate-Call-Id, then the `answered` event): the call's page in the console's history. */
  callId: string | undefined;
  end: CallEnd | undefined;
  muted = false;
  /** The stream the remote track arrived in (what the page plays). */
  remoteStream: MediaStream | undefined;

  private readonly listeners = new Map<keyof BrowserCallEvents, Set<Listener<never>>>();
  // Made now, inside the click that started the call: a context made after an await may start suspended (autoplay policy).
  private readonly audioContext = new AudioContext();
  private readonly abort = new AbortController();
  private peer: RTCPeerConnection | undefined;
  private channel: RTCDataChannel | undefined;
  private microphone: MediaStream | undefined;
  private ownsMicrophone = false;
  private meter: LevelMeter | undefined;
  private sessionUrl: string | undefined;
  private hangingUp: Promise<void> | undefined;
  private endedByGateway: ((end: CallEnd) => void) | undefined;

  /** Use startBrowserCall: the call starts connecting at once. */
  constructor(private readonly options: BrowserCallOptions) {
    this.audio = options.audio ?? new Audio();
    this.audio.autoplay = true;
    void this.connect();
  }

  on<K extends keyof BrowserCallEvents>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Mutes the microphone: the track sends silence (the peer stays up), and the level meter drops with it. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const track of this.microphone?.getAudioTracks() ?? []) track.enabled = !muted;
  }

  /**
   * Presses keys: 'rtp' sends RFC 4733 telephone-events in the audio (RTCDTMFSender, as a phone
   * would), 'datachannel' a `{"type":"dtmf","digits":...}` message. Errors go to the `error` event.
   */
  sendDigits(digits: string, via: 'rtp' | 'datachannel'): void {
    if (!KEYPAD_DIGITS.test(digits)) return this.emit('error', `"${digits}" is not a keypad key (0-9, *, #, A-D)`);
    if (this.state !== 'in-call') return this.emit('error', 'keys can be sent only during a call');
    if (via === 'rtp') {
      const dtmf = this.peer?.getSenders().find((s) => s.track?.kind === 'audio')?.dtmf;
      if (!dtmf?.canInsertDTMF) return this.emit('error', 'cannot send keys as RFC 4733 events: the gateway did not accept telephone-event');
      // 100 ms tones with 70 ms gaps: the RFC 4733 minimums phones use, long enough for any detector.
      dtmf.insertDTMF(digits, 100, 70);
      return;
    }
    this.sendMessage({ type: 'dtmf', digits });
  }

  /** Ends the call: DELETE on the session (same credential), then the gateway's `ended` closes it here. */
  hangUp(): Promise<void> {
    this.hangingUp ??= this.sendHangUp();
    return this.hangingUp;
  }

  /** Runs the offer/answer exchange; every failure ends the call with its message. */
  private async connect(): Promise<void> {
    try {
      this.microphone = this.options.microphone;
      if (!this.microphone) {
        // Browsers offer no mediaDevices at all outside secure contexts.
        if (!navigator.mediaDevices) throw new Error('the microphone needs a secure page: open it over https (or on localhost)');
        this.microphone = await navigator.mediaDevices.getUserMedia({ audio: true }).catch((err: unknown) => {
          // NotAllowedError / NotFoundError say little alone; https (or localhost) is required too.
          throw new Error(`the microphone is not available to this page: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        });
        this.ownsMicrophone = true;
      }
      if (this.hungUpMeanwhile()) return this.release();
      this.meter = new LevelMeter(this.audioContext, this.microphone, (rms) => this.emit('level', rms));
      void this.audioContext.resume();

      const peer = (this.peer = new RTCPeerConnection({ iceServers: this.options.iceServers ?? [] }));
      for (const track of this.microphone.getAudioTracks()) peer.addTrack(track, this.microphone);
      peer.ontrack = (event) => this.playRemote(event);
      peer.onconnectionstatechange = () => {
        // The gateway closes its side after `ended`; a failure before that is a lost call.
        if (peer.connectionState === 'failed') this.finish({ cause: 'media-failed', reason: 'connection-lost', error: 'the media connection to the gateway failed (ICE or DTLS)' });
      };
      this.openChannel(peer.createDataChannel(DATA_CHANNEL_LABEL));

      await peer.setLocalDescription(await peer.createOffer());
      await iceGatheringDone(peer, this.options.iceGatheringTimeoutMs ?? DEFAULT_ICE_GATHERING_TIMEOUT_MS);
      const offer = peer.localDescription?.sdp;
      if (!offer) throw new Error('the browser made no SDP offer');

      const query = this.options.bot ? `?bot=${encodeURIComponent(this.options.bot)}` : '';
      const whipUrl = `${this.options.gatewayUrl}/webrtc/whip${query}`;
      const res = await fetch(whipUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${this.options.credential}` },
        body: offer,
        credentials: 'omit',
        signal: this.abort.signal,
      }).catch((err: unknown) => {
        if (this.abort.signal.aborted) throw err;
        // The browser hides why (a refused CORS preflight looks like a network failure): name both.
        throw new Error(`could not reach ${whipUrl} from this page: the gateway is unreachable, or refused the CORS preflight of origin ${location.origin}`);
      });
      if (res.status !== 201) throw new RefusedError(await errorMessage(res));
      const sessionPath = res.headers.get('location');
      // Without Location the call could never be hung up: a gateway that hides it (CORS expose headers) is broken.
      if (!sessionPath) throw new Error('the gateway answered without a Location header (is Location in Access-Control-Expose-Headers?)');
      this.sessionUrl = new URL(sessionPath, res.url).href;
      this.callId = res.headers.get('x-voxgate-call-id') ?? undefined;
      const answer = await res.text();
      if (this.hungUpMeanwhile()) return void this.deleteSession();
      await peer.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (err) {
      if (this.state === 'ended') return;
      const message = err instanceof Error ? err.message : String(err);
      this.finish({ cause: err instanceof RefusedError ? 'refused' : 'failed', reason: 'not-connected', error: message });
    }
  }

  /** Whether hangUp() ran while connect() awaited (the state changes behind TypeScript's narrowing). */
  private hungUpMeanwhile(): boolean {
    return this.state === 'ended';
  }

  private openChannel(channel: RTCDataChannel): void {
    this.channel = channel;
    // The channel opens once ICE and DTLS are up: the call is through even if `answered` came before it.
    channel.onopen = () => this.setState('in-call');
    channel.onmessage = (message) => {
      let event: PageCallEvent;
      try {
        event = JSON.parse(String(message.data)) as PageCallEvent;
      } catch {
        return this.emit('error', `the gateway sent a message that is not JSON: ${String(message.data).slice(0, 80)}`);
      }
      this.handle(event);
    };
    channel.onclose = () => {
      // The gateway sends `ended` before closing; a close without it means the call was lost.
      if (this.state !== 'ended' && !this.hangingUp) this.finish({ cause: 'lost', reason: 'connection-lost', error: 'the gateway closed the call event channel' });
    };
  }

  private handle(event: PageCallEvent | { type: 'error'; error: string }): void {
    if (event.type === 'error') return this.emit('error', event.error);
    this.emit('event', event);
    switch (event.type) {
      case 'answered':
        this.callId = event.callId;
        this.setState('in-call');
        break;
      case 'transcript':
        this.emit('transcript', event);
        break;
      case 'dtmf':
        this.emit('dtmf', event);
        break;
      case 'ended': {
        const end = { cause: event.cause, reason: event.reason };
        if (this.endedByGateway) this.endedByGateway(end);
        else this.finish(end);
        break;
      }
    }
  }

  private playRemote(event: RTCTrackEvent): void {
    this.remoteStream = event.streams[0] ?? new MediaStream([event.track]);
    this.audio.srcObject = this.remoteStream;
    this.audio.play().catch((err: unknown) => this.emit('error', `the browser did not play the bot's voice: ${err instanceof Error ? err.message : String(err)}`));
  }

  private sendMessage(message: { type: 'dtmf'; digits: string }): void {
    if (this.channel?.readyState !== 'open') return this.emit('error', 'the call event channel is not open');
    this.channel.send(JSON.stringify(message));
  }

  private async sendHangUp(): Promise<void> {
    if (this.state === 'ended') return;
    if (!this.sessionUrl) {
      // Still connecting: stop the exchange; a 201 arriving later is DELETEd at once (connect()).
      this.abort.abort();
      return this.finish({ cause: 'hangup', reason: 'caller-hangup' });
    }
    const ended = new Promise<CallEnd>((resolve) => {
      this.endedByGateway = resolve;
      setTimeout(() => resolve({ cause: 'hangup', reason: 'caller-hangup' }), ENDED_AFTER_HANGUP_WAIT_MS);
    });
    const problem = await this.deleteSession();
    this.finish(problem ? { cause: 'hangup', reason: 'caller-hangup', error: problem } : await ended);
  }

  /** DELETE on the session resource; resolves with the gateway's error text when it refused. */
  private async deleteSession(): Promise<string | undefined> {
    if (!this.sessionUrl) return undefined;
    try {
      const res = await fetch(this.sessionUrl, { method: 'DELETE', headers: { authorization: `Bearer ${this.options.credential}` }, credentials: 'omit', keepalive: true });
      // 404: the call had already ended at the gateway, which is what a hang-up wants.
      if (res.ok || res.status === 404) return undefined;
      return await errorMessage(res);
    } catch (err) {
      return `hang-up not sent: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private finish(end: CallEnd): void {
    if (this.state === 'ended') return;
    this.end = end;
    this.release();
    this.setState('ended');
  }

  private release(): void {
    this.meter?.stop();
    this.peer?.close();
    if (this.ownsMicrophone) for (const track of this.microphone?.getTracks() ?? []) track.stop();
    void this.audioContext.close().catch(() => undefined);
    this.audio.srcObject = null;
  }

  private setState(state: BrowserCallState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private emit<K extends keyof BrowserCallEvents>(name: K, value: BrowserCallEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) (listener as Listener<K>)(value);
  }
}

/** The gateway said no (its JSON error, shown as it came). */
class RefusedError extends Error {}

/** Resolves when ICE gathering is complete, or after `timeoutMs` with the candidates found so far. */
function iceGatheringDone(peer: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (peer.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      peer.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (peer.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    peer.addEventListener('icegatheringstatechange', check);
  });
}
