/**
 * A scripted person on the phone: answers (or not), presses keys, speaks audio clips at given times,
 * hangs up, and records everything it heard as 8 kHz PCM16 (one sample slot per 1/8000 s since answer,
 * silence where nothing played), so tests can check what and when the caller actually heard.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { readWavFile, writeWavFile } from '../media/wav.js';
import { resample } from '../media/resample.js';

export interface ScriptedKeys {
  digits: string;
  /** Seconds after answer. */
  atSec?: number;
  /** Seconds of audio heard since answer (silence not counted). */
  afterHeardSec?: number;
}

export interface VoiceClip {
  /** Seconds after answer at which the party starts speaking this clip. */
  atSec: number;
  wavPath?: string;
  samples?: Int16Array;
  /** Rate of `samples` (default 8000). */
  sampleRate?: number;
}

/**
 * A virtual party's behaviour. answerAfterSec / neverAnswer / busy / declines / unreachable / machine
 * apply to callees; a caller is "answered" when the carrier answers.
 */
export interface PartyScript {
  answerAfterSec?: number;
  neverAnswer?: boolean;
  /** The line is busy: the call ends at once (Plivo Busy Line, Twilio busy), without ringing. */
  busy?: boolean;
  /** The callee rings, then presses decline after `answerAfterSec` (default 1 s): Plivo Rejected, Twilio busy (SIP 603). */
  declines?: boolean;
  /** The number is out of service: the carrier refuses the call before it rings (Plivo Destination Out Of Service, Twilio failed). */
  unreachable?: boolean;
  /**
   * An answering machine picks up (after `answerAfterSec`); its greeting is the `voice` clips. The
   * carriers' machine detection (Plivo machine_detection, Twilio MachineDetection) reports it; humans
   * are never reported as machines.
   */
  machine?: boolean;
  /**
   * Key presses; the digits of one entry are pressed 100 ms apart. Each entry is timed either from answer
   * (`atSec`) or by what the party has heard (`afterHeardSec`: once it has heard that many seconds of
   * audio since answer, pauses not counted), which lands in the same prompt however slow the gateway is.
   */
  keys?: ScriptedKeys[];
  voice?: VoiceClip[];
  hangupAfterSec?: number;
  /** WAV path where what this party heard is written when the call ends. */
  recordTo?: string;
  /** Keep what this party hears (default true); load tests turn it off, since it grows 16 KB a second per call. */
  recordHeard?: boolean;
}

export const HEARD_RATE = 8000;

/**
 * How a callee's script meets a call: refused at once without ringing (busy, out of service), or ringing
 * until it answers or declines after `afterMs`, or forever (`never-answers`, afterMs Infinity).
 */
export interface CalleeResponse {
  kind: 'busy' | 'unreachable' | 'answers' | 'declines' | 'never-answers';
  afterMs: number;
}

/** A busy or dead line answers the INVITE almost at once. */
export const REFUSAL_MS = 50;

export function calleeResponse(script: PartyScript): CalleeResponse {
  if (script.unreachable) return { kind: 'unreachable', afterMs: REFUSAL_MS };
  if (script.busy) return { kind: 'busy', afterMs: REFUSAL_MS };
  if (script.neverAnswer) return { kind: 'never-answers', afterMs: Infinity };
  if (script.declines) return { kind: 'declines', afterMs: (script.answerAfterSec ?? 1) * 1000 };
  return { kind: 'answers', afterMs: (script.answerAfterSec ?? 0) * 1000 };
}
const KEY_SPACING_MS = 100;

interface LoadedClip {
  startSample: number;
  /** The clip at 8 kHz; other rates are derived lazily and cached. */
  byRate: Map<number, Int16Array>;
}

export class ScriptError extends Error {}

/** Validates a script, naming the first bad field. */
export function validatePartyScript(script: PartyScript, label: string): void {
  const bad = (msg: string) => {
    throw new ScriptError(`${label}: ${msg}`);
  };
  const nonNeg = (v: unknown, field: string) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) bad(`${field} must be a number >= 0, got ${String(v)}`);
  };
  nonNeg(script.answerAfterSec, 'answerAfterSec');
  const outcomes = (['neverAnswer', 'busy', 'declines', 'unreachable', 'machine'] as const).filter((k) => script[k] === true);
  if (outcomes.length > 1) bad(`${outcomes.join(' and ')} exclude each other: pick one outcome`);
  nonNeg(script.hangupAfterSec, 'hangupAfterSec');
  for (const [i, k] of (script.keys ?? []).entries()) {
    nonNeg(k.atSec, `keys[${i}].atSec`);
    nonNeg(k.afterHeardSec, `keys[${i}].afterHeardSec`);
    if ((k.atSec === undefined) === (k.afterHeardSec === undefined)) bad(`keys[${i}] needs exactly one of atSec or afterHeardSec`);
    if (typeof k.digits !== 'string' || !/^[0-9*#A-D]+$/.test(k.digits)) bad(`keys[${i}].digits must be DTMF digits 0-9 * # A-D, got ${JSON.stringify(k.digits)}`);
  }
  for (const [i, v] of (script.voice ?? []).entries()) {
    nonNeg(v.atSec, `voice[${i}].atSec`);
    if (!v.wavPath && !v.samples) bad(`voice[${i}] needs wavPath or samples`);
    if (v.sampleRate !== undefined && !(v.sampleRate > 0)) bad(`voice[${i}].sampleRate must be > 0`);
  }
}

export interface PartyEvents {
  key: [digit: string];
  hangup: [];
}

export class VirtualParty extends EventEmitter<PartyEvents> {
  private heardBuf = new Int16Array(HEARD_RATE * 4);
  private heardLen = 0;
  private clips: LoadedClip[] = [];
  private timers: TimerHandle[] = [];
  /** Audio heard since answer (ms, silent frames not counted), and the key entries still waiting on it. */
  private audibleMs = 0;
  private keysOnHearing: { afterMs: number; digits: string }[] = [];
  /** Digits this party heard as DTMF (sendDTMF, the DTMF verb, the DTMF API). */
  heardDigits = '';
  answeredAt: number | undefined;

  constructor(
    readonly script: PartyScript,
    private readonly clock: Clock,
  ) {
    super();
  }

  /** Reads the script's WAV files; call before the party answers so playback never waits on disk. */
  async load(): Promise<void> {
    for (const clip of this.script.voice ?? []) {
      let samples: Int16Array;
      let rate: number;
      if (clip.samples) {
        samples = clip.samples;
        rate = clip.sampleRate ?? HEARD_RATE;
      } else {
        const wav = await readWavFile(clip.wavPath!);
        samples = wav.samples;
        rate = wav.sampleRate;
      }
      const at8k = rate === HEARD_RATE ? samples : resample(samples, rate, HEARD_RATE);
      this.clips.push({ startSample: Math.round(clip.atSec * HEARD_RATE), byRate: new Map([[HEARD_RATE, at8k]]) });
    }
  }

  /** When (ms after answer) the last of the script's voice clips ends; undefined when the party says nothing. */
  speechEndMs(): number | undefined {
    let end: number | undefined;
    for (const clip of this.clips) {
      const clipEnd = ((clip.startSample + clip.byRate.get(HEARD_RATE)!.length) * 1000) / HEARD_RATE;
      end = end === undefined ? clipEnd : Math.max(end, clipEnd);
    }
    return end;
  }

  /** Starts the script clock: key presses and hangup are scheduled from now. */
  answer(): void {
    this.answeredAt = this.clock.now();
    for (const k of this.script.keys ?? []) {
      if (k.afterHeardSec !== undefined) this.keysOnHearing.push({ afterMs: k.afterHeardSec * 1000, digits: k.digits });
      else this.press(k.digits, (k.atSec ?? 0) * 1000);
    }
    this.keysOnHearing.sort((a, b) => a.afterMs - b.afterMs);
    if (this.script.hangupAfterSec !== undefined) {
      this.timers.push(this.clock.setTimeout(() => this.emit('hangup'), this.script.hangupAfterSec * 1000));
    }
  }

  /** Presses keys (100 ms apart) after `afterMs`, for callers that react to what they heard rather than to a script clock. */
  press(digits: string, afterMs = 0): void {
    if (!/^[0-9*#A-D]+$/.test(digits)) throw new ScriptError(`press: digits must be DTMF digits 0-9 * # A-D, got ${JSON.stringify(digits)}`);
    [...digits].forEach((digit, i) => {
      this.timers.push(this.clock.setTimeout(() => this.emit('key', digit), afterMs + i * KEY_SPACING_MS));
    });
  }

  /** Starts speaking `samples` now (from the next frame), for callers that answer what they heard. */
  sayNow(samples: Int16Array, sampleRate = HEARD_RATE): void {
    if (this.answeredAt === undefined) throw new ScriptError('sayNow: the party has not answered');
    const at8k = sampleRate === HEARD_RATE ? samples : resample(samples, sampleRate, HEARD_RATE);
    const startSample = Math.ceil(((this.clock.now() - this.answeredAt) * HEARD_RATE) / 1000);
    this.clips.push({ startSample, byRate: new Map([[HEARD_RATE, at8k]]) });
  }

  /** Hangs up after `afterMs`, for callers that react to what they heard. */
  hangUp(afterMs = 0): void {
    this.timers.push(this.clock.setTimeout(() => this.emit('hangup'), afterMs));
  }

  /** Cancels pending key presses and the scripted hangup. */
  stop(): void {
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.keysOnHearing = [];
  }

  /**
   * Fills `out` with what the party says during frame `frameIndex` (20 ms frames since answer) at
   * `rate`; returns true when a clip was active (speech), false for silence.
   */
  speak(frameIndex: number, rate: number, out: Int16Array): boolean {
    out.fill(0);
    let active = false;
    const frameStart = frameIndex * out.length;
    for (const clip of this.clips) {
      let samples = clip.byRate.get(rate);
      if (!samples) {
        samples = resample(clip.byRate.get(HEARD_RATE)!, HEARD_RATE, rate);
        clip.byRate.set(rate, samples);
      }
      const start = Math.round((clip.startSample * rate) / HEARD_RATE);
      const from = frameStart - start;
      if (from + out.length <= 0 || from >= samples.length) continue;
      active = true;
      for (let i = Math.max(0, -from); i < out.length && from + i < samples.length; i++) {
        const mixed = out[i] + samples[from + i];
        out[i] = mixed > 32767 ? 32767 : mixed < -32768 ? -32768 : mixed;
      }
    }
    return active;
  }

  /**
   * Appends one frame (8 kHz) of what the party heard; `audible` says whether anything played in it
   * (default: any non-zero sample), which drives the key entries timed by `afterHeardSec`.
   */
  hear(frame: Int16Array, audible = frame.some((v) => v !== 0)): void {
    if (audible && this.answeredAt !== undefined) {
      this.audibleMs += (frame.length * 1000) / HEARD_RATE;
      while (this.keysOnHearing.length > 0 && this.keysOnHearing[0].afterMs <= this.audibleMs) this.press(this.keysOnHearing.shift()!.digits);
    }
    if (this.script.recordHeard === false) return;
    if (this.heardLen + frame.length > this.heardBuf.length) {
      const bigger = new Int16Array(this.heardBuf.length * 2);
      bigger.set(this.heardBuf.subarray(0, this.heardLen));
      this.heardBuf = bigger;
    }
    this.heardBuf.set(frame, this.heardLen);
    this.heardLen += frame.length;
  }

  /** Everything heard since answer, 8 kHz PCM16. */
  get heard(): Int16Array {
    return this.heardBuf.subarray(0, this.heardLen);
  }

  async writeRecording(): Promise<void> {
    if (this.script.recordTo) await writeWavFile(this.script.recordTo, this.heard, HEARD_RATE);
  }
}
