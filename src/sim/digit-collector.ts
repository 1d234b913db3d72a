/**
 * Collecting the party's key presses for a digit-gathering verb (Plivo <GetDigits>/<GetInput>, Twilio
 * <Gather>): the nested prompts play until the first key stops them, then keys are collected until
 * `numDigits`, the finish key, or a timeout (the first one after the prompts, then between digits).
 */
import type { TimerHandle } from '../runtime/clock.js';
import type { VerbContext } from './document-executor.js';
import type { AnySimCall } from './simulated-call.js';
import type { XmlElement } from './xml-document.js';

export interface CollectOptions {
  numDigits: number;
  firstTimeoutMs: number;
  digitTimeoutMs: number;
  /** The key that ends collection (not part of the digits); '' for none. */
  finishOnKey: string;
  validDigits: string;
}

export interface CollectedDigits {
  /** What was entered ('' for no input). */
  digits: string;
  /** The finish key when it ended the collection, else ''. */
  finishedOnKey: string;
}

/** Plays `prompts` and collects digits. */
export async function collectDigits<Ending>(ctx: VerbContext<AnySimCall, Ending>, prompts: XmlElement[], opts: CollectOptions): Promise<CollectedDigits> {
  const { call } = ctx;
  const clock = call.env.clock;
  let digits = '';
  let finishedOnKey = '';
  let finished = false;
  let timer: TimerHandle | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const promptAbort = new AbortController();
  const finish = () => {
    if (finished) return;
    finished = true;
    timer?.cancel();
    promptAbort.abort();
    resolveDone();
  };
  const arm = (ms: number) => {
    timer?.cancel();
    timer = clock.setTimeout(finish, ms);
  };
  const removeKeyListener = call.addKeyListener((digit) => {
    if (finished) return false;
    promptAbort.abort(); // a key press stops the prompt, as carriers do
    if (opts.finishOnKey && digit === opts.finishOnKey) {
      finishedOnKey = digit;
      finish();
      return true;
    }
    if (!opts.validDigits.includes(digit)) return true;
    digits += digit;
    if (digits.length >= opts.numDigits) finish();
    else arm(opts.digitTimeoutMs);
    return true;
  });
  ctx.signal.addEventListener('abort', finish, { once: true });
  try {
    await ctx.runNested(prompts, AbortSignal.any([ctx.signal, promptAbort.signal]));
    if (!finished && digits.length === 0) arm(opts.firstTimeoutMs);
    await done;
  } finally {
    removeKeyListener();
    ctx.signal.removeEventListener('abort', finish);
    timer?.cancel();
  }
  return { digits, finishedOnKey };
}
