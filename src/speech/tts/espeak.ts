/**
 * Local, offline TTS with eSpeak NG compiled to WebAssembly (the `espeak-ng` npm package).
 *
 * The engine runs in a worker thread: one synthesis blocks its thread for ~100 ms, which on the
 * main thread would stall the media of every other call. The WASM module is compiled once and
 * shared with the worker; each synthesis instantiates it afresh because the Emscripten build runs
 * espeak-ng's `main` once per instance (instantiating a compiled module costs ~80 ms instead of
 * ~140-200 ms for a cold `ESpeakNg()` call, which recompiles the 18 MB module every time).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseWav } from '../../media/wav.js';
import { StreamResampler } from '../../media/resample.js';
import { TtsError, type TtsProvider, type TtsRequest } from './provider.js';

/** eSpeak NG writes 22050 Hz mono PCM16. */
export const ESPEAK_SAMPLE_RATE = 22050;

const PROVIDER_NAME = 'espeak';

/** Language tag (lower case) -> espeak-ng voice. Full tags first, then the primary subtag. */
const VOICE_BY_TAG: Record<string, string> = {
  'en-us': 'en-us',
  'en-ca': 'en-us',
  'en-gb': 'en-gb',
  'en-ie': 'en-gb',
  'en-au': 'en-gb',
  'en-nz': 'en-gb',
  'en-in': 'en-in',
  'en-za': 'en-gb',
  'es-mx': 'es-419',
  'es-us': 'es-419',
  'es-419': 'es-419',
  'pt-br': 'pt-br',
  'pt-pt': 'pt',
  'fr-be': 'fr-be',
  'fr-ch': 'fr-ch',
  'zh-cn': 'cmn',
  'zh-tw': 'cmn',
  'zh-hk': 'yue',
};

const VOICE_BY_LANGUAGE: Record<string, string> = {
  en: 'en-us',
  de: 'de',
  fr: 'fr',
  es: 'es',
  it: 'it',
  pt: 'pt',
  nl: 'nl',
  sv: 'sv',
  da: 'da',
  nb: 'nb',
  no: 'nb',
  fi: 'fi',
  pl: 'pl',
  ru: 'ru',
  uk: 'uk',
  cs: 'cs',
  sk: 'sk',
  sl: 'sl',
  hr: 'hr',
  sr: 'sr',
  bg: 'bg',
  el: 'el',
  hu: 'hu',
  ro: 'ro',
  tr: 'tr',
  ar: 'ar',
  he: 'he',
  hi: 'hi',
  bn: 'bn',
  ta: 'ta',
  te: 'te',
  ur: 'ur',
  fa: 'fa',
  ja: 'ja',
  ko: 'ko',
  zh: 'cmn',
  cmn: 'cmn',
  yue: 'yue',
  vi: 'vi',
  th: 'th',
  id: 'id',
  ms: 'ms',
  ca: 'ca',
  et: 'et',
  lv: 'lv',
  lt: 'lt',
  is: 'is',
  ga: 'ga',
  cy: 'cy',
  af: 'af',
  sw: 'sw',
};

/** Gender words some bot configurations use as `voiceName` -> espeak-ng voice variants. */
const VARIANT_BY_VOICE: Record<string, string> = {
  male: 'm3',
  man: 'm3',
  female: 'f3',
  woman: 'f3',
};

const ESPEAK_VARIANT = /^(?:[mf][1-7]|whisper|croak|klatt[1-6]?)$/;

/** Maps a language tag such as "en-US" to an espeak-ng voice, or throws a TtsError naming it. */
export function espeakVoiceForLanguage(language: string): string {
  const tag = language.trim().toLowerCase().replace(/_/g, '-');
  const voice = VOICE_BY_TAG[tag] ?? VOICE_BY_LANGUAGE[tag.split('-')[0]];
  if (!voice) {
    throw new TtsError(
      PROVIDER_NAME,
      `unsupported language "${language}" (supported: ${Object.keys(VOICE_BY_LANGUAGE).join(', ')} and regional tags such as en-US, en-GB, pt-BR)`,
    );
  }
  return voice;
}

/** Maps a `voice` value ("female", "MAN", "f2", "en-us+f3"...) to an espeak-ng variant, or undefined for the default voice. */
export function espeakVariantForVoice(voice: string | undefined): string | undefined {
  if (voice === undefined || voice.trim() === '') return undefined;
  const v = voice.trim().toLowerCase();
  const variant = VARIANT_BY_VOICE[v] ?? (ESPEAK_VARIANT.test(v) ? v : v.includes('+') ? v.slice(v.lastIndexOf('+') + 1) : undefined);
  if (!variant || !ESPEAK_VARIANT.test(variant)) {
    throw new TtsError(
      PROVIDER_NAME,
      `unsupported voice "${voice}" (expected male, female, man, woman, or an espeak-ng variant m1-m7, f1-f5, whisper, croak)`,
    );
  }
  return variant;
}

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'st', 'prof', 'sr', 'jr', 'vs', 'etc', 'e.g', 'i.e', 'no', 'inc', 'ltd']);

/**
 * Splits plain text into sentences so the first one can be spoken while the rest is synthesized.
 * Breaks after . ! ? … (and their run with closing quotes/brackets) followed by whitespace, and at
 * blank lines; a dot after a common abbreviation ("Dr. Smith") does not end a sentence.
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const re = /[.!?…]+["'”’)\]]*(?=\s)|\n\s*\n/g;
  let start = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const end = m.index + m[0].length;
    if (m[0].startsWith('.') && m[0].length === 1) {
      const word = /([\p{L}.]+)$/u.exec(text.slice(start, m.index))?.[1]?.toLowerCase();
      if (word && ABBREVIATIONS.has(word)) continue;
    }
    const piece = text.slice(start, end).trim();
    if (piece) out.push(piece);
    start = end;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The engine: a worker thread that owns the compiled module and renders one argument list at a time.

interface RenderReply {
  id: number;
  wav?: Uint8Array;
  exitCode?: number;
  stderr?: string;
  error?: string;
}

/**
 * Worker body (CommonJS, evaluated): renders queued jobs one at a time so at most one 32 MB
 * instance is alive per worker. Kept as a string so it runs the same under tsx, vitest and tsc output.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const loaded = import(workerData.moduleUrl).then((m) => m.default);
let chain = Promise.resolve();
parentPort.on('message', (job) => { chain = chain.then(() => render(job)); });
async function render(job) {
  const stderr = [];
  let exitCode = 0;
  try {
    const ESpeakNg = await loaded;
    const es = await ESpeakNg({
      arguments: job.args,
      print: () => {},
      printErr: (line) => { if (stderr.length < 20) stderr.push(String(line)); },
      quit: (code, toThrow) => { exitCode = code; throw toThrow; },
      instantiateWasm: (imports, receive) => {
        WebAssembly.instantiate(workerData.wasmModule, imports).then((inst) => receive(inst, workerData.wasmModule));
        return {};
      },
    });
    let wav;
    if (exitCode === 0) {
      try { wav = es.FS.readFile(job.out); } catch { /* reported below as a missing output */ }
    }
    const reply = { id: job.id, wav, exitCode, stderr: stderr.filter((l) => !l.includes('keepRuntimeAlive')).join('\\n') };
    parentPort.postMessage(reply, wav ? [wav.buffer] : []);
  } catch (err) {
    parentPort.postMessage({ id: job.id, exitCode, error: String(err && err.message || err), stderr: stderr.join('\\n') });
  }
}
`;

export interface EspeakEngineOptions {
  /** Worker threads rendering in parallel (each holds one ~32 MB instance while busy). Default 1. */
  workers?: number;
}

/** Runs espeak-ng command lines and returns the WAV they write. Shared by all providers in a process. */
export class EspeakEngine {
  private compiled?: Promise<{ wasmModule: WebAssembly.Module; moduleUrl: string }>;
  private readonly workerCount: number;
  private workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, { resolve: (r: RenderReply) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 1;
  private closed = false;

  constructor(options: EspeakEngineOptions = {}) {
    this.workerCount = Math.max(1, options.workers ?? 1);
  }

  /** Compiles the WASM module (once) and starts the workers; later calls return at once. */
  async warmUp(): Promise<void> {
    await this.compile();
  }

  /** Runs `espeak-ng <args> -w /out.wav` and returns the WAV bytes. */
  async renderWav(args: string[]): Promise<Uint8Array> {
    if (this.closed) throw new TtsError(PROVIDER_NAME, 'engine is closed');
    const slot = await this.pickWorker();
    const id = this.nextId++;
    const out = '/out.wav';
    slot.busy++;
    slot.worker.ref(); // a pending synthesis keeps the process alive; an idle worker does not
    try {
      const reply = await new Promise<RenderReply>((resolve, reject) => {
        this.pending.set(id, { resolve, reject, worker: slot.worker });
        slot.worker.postMessage({ id, out, args: ['-w', out, ...args] });
      });
      if (reply.error) throw new TtsError(PROVIDER_NAME, `espeak-ng failed: ${reply.error}`);
      if (reply.exitCode !== 0 || !reply.wav) {
        throw new TtsError(PROVIDER_NAME, `espeak-ng exited with status ${reply.exitCode}${reply.stderr ? `: ${reply.stderr}` : ''}`);
      }
      return reply.wav;
    } finally {
      if (--slot.busy === 0) slot.worker.unref();
    }
  }

  /** Stops the workers; pending renders fail. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  private compile(): Promise<{ wasmModule: WebAssembly.Module; moduleUrl: string }> {
    this.compiled ??= (async () => {
      const jsPath = createRequire(import.meta.url).resolve('espeak-ng');
      const wasm = await readFile(join(dirname(jsPath), 'espeak-ng.wasm'));
      return { wasmModule: await WebAssembly.compile(wasm), moduleUrl: pathToFileURL(jsPath).href };
    })().catch((err: unknown) => {
      this.compiled = undefined;
      throw new TtsError(PROVIDER_NAME, `cannot load the espeak-ng WASM module: ${(err as Error).message}`);
    });
    return this.compiled;
  }

  private async pickWorker(): Promise<{ worker: Worker; busy: number }> {
    const data = await this.compile();
    if (this.workers.length < this.workerCount) {
      const free = this.workers.find((w) => w.busy === 0);
      if (free) return free;
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
      worker.unref(); // an idle synthesizer must not keep the process alive
      const slot = { worker, busy: 0 };
      worker.on('message', (reply: RenderReply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        p.resolve(reply);
      });
      const fail = (err: Error) => {
        this.workers = this.workers.filter((w) => w !== slot);
        for (const [id, p] of this.pending) {
          if (p.worker !== worker) continue;
          this.pending.delete(id);
          p.reject(new TtsError(PROVIDER_NAME, `espeak-ng worker stopped: ${err.message}`));
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
      this.workers.push(slot);
      return slot;
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }
}

let sharedEngine: EspeakEngine | undefined;

/** The process-wide engine providers use unless given one. */
export function sharedEspeakEngine(): EspeakEngine {
  sharedEngine ??= new EspeakEngine();
  return sharedEngine;
}

// ---------------------------------------------------------------------------------------------

export interface EspeakTtsOptions {
  /** Speaking rate in words per minute (espeak-ng `-s`, 80-450). Default 175. */
  wordsPerMinute?: number;
  /** Pitch 0-99 (espeak-ng `-p`). Default 50. */
  pitch?: number;
  engine?: EspeakEngine;
}

export class EspeakTtsProvider implements TtsProvider {
  readonly name = PROVIDER_NAME;
  /** Settings that change the audio beyond the request; the TTS cache adds it to its key. */
  readonly cacheScope: string;
  private readonly wordsPerMinute: number;
  private readonly pitch: number;
  private readonly engine: EspeakEngine;

  constructor(options: EspeakTtsOptions = {}) {
    this.wordsPerMinute = options.wordsPerMinute ?? 175;
    this.pitch = options.pitch ?? 50;
    if (!Number.isFinite(this.wordsPerMinute) || this.wordsPerMinute < 80 || this.wordsPerMinute > 450) {
      throw new TtsError(PROVIDER_NAME, `wordsPerMinute must be between 80 and 450, got ${options.wordsPerMinute}`);
    }
    if (!Number.isInteger(this.pitch) || this.pitch < 0 || this.pitch > 99) {
      throw new TtsError(PROVIDER_NAME, `pitch must be an integer between 0 and 99, got ${options.pitch}`);
    }
    this.engine = options.engine ?? sharedEspeakEngine();
    this.cacheScope = `s${this.wordsPerMinute}p${this.pitch}`;
  }

  async *synthesize(req: TtsRequest, signal?: AbortSignal): AsyncIterable<Int16Array> {
    if (!Number.isInteger(req.sampleRate) || req.sampleRate < 4000 || req.sampleRate > 192000) {
      throw new TtsError(PROVIDER_NAME, `sampleRate must be an integer between 4000 and 192000, got ${req.sampleRate}`);
    }
    const variant = espeakVariantForVoice(req.voice);
    const voice = espeakVoiceForLanguage(req.language) + (variant ? `+${variant}` : '');
    const baseArgs = ['-v', voice, '-s', String(this.wordsPerMinute), '-p', String(this.pitch)];
    if (req.ssml) baseArgs.push('-m');
    // SSML is rendered whole: a sentence split could cut through an element.
    const units = req.ssml ? [req.text.trim()] : splitSentences(req.text);
    if (units.length === 0 || units[0] === '') return;

    const resampler = req.sampleRate === ESPEAK_SAMPLE_RATE ? undefined : new StreamResampler(ESPEAK_SAMPLE_RATE, req.sampleRate);
    const render = (text: string) => this.engine.renderWav([...baseArgs, '--', text]).then(decode);
    signal?.throwIfAborted();
    // One sentence ahead: the next renders while the caller plays the current one.
    let next: Promise<Int16Array> | undefined = render(units[0]);
    for (let i = 0; next; i++) {
      const current = next;
      next = i + 1 < units.length ? render(units[i + 1]) : undefined;
      next?.catch(() => {}); // observed when awaited; avoid an unhandled rejection if we stop first
      const pcm = await current;
      signal?.throwIfAborted();
      const out = resampler ? resampler.push(pcm) : pcm;
      if (out.length > 0) yield out;
      signal?.throwIfAborted();
    }
    if (resampler) {
      const tail = resampler.flush();
      if (tail.length > 0) yield tail;
    }
  }
}

function decode(wav: Uint8Array): Int16Array {
  try {
    const audio = parseWav(wav);
    if (audio.sampleRate !== ESPEAK_SAMPLE_RATE) {
      throw new TtsError(PROVIDER_NAME, `espeak-ng wrote ${audio.sampleRate} Hz audio, expected ${ESPEAK_SAMPLE_RATE} Hz`);
    }
    return audio.samples;
  } catch (err) {
    if (err instanceof TtsError) throw err;
    throw new TtsError(PROVIDER_NAME, `espeak-ng wrote an unreadable WAV: ${(err as Error).message}`);
  }
}
