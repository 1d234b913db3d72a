import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import type { SttResult } from '../../src/speech/stt/provider.js';
import { UtteranceSttSession, type UtteranceAbortReason, type UtteranceFailure } from '../../src/speech/stt/utterance-stt-session.js';

class ScriptedFailure extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
  }
}

interface ScriptedRequest {
  answer(result: SttResult | undefined): void;
  reject(error: Error): void;
  aborted: UtteranceAbortReason[];
}

/** A vendor whose requests the test answers by hand: endOfUtterance() opens one. */
class ScriptedSession extends UtteranceSttSession {
  readonly requests: ScriptedRequest[] = [];
  discarded = 0;
  permanentFailures = 0;

  constructor() {
    super(silentLogger(), 'scripted stt failed');
  }

  write(): void {}

  endOfUtterance(): void {
    if (!this.isOpen) return;
    let answer!: (r: SttResult | undefined) => void;
    let reject!: (e: Error) => void;
    const outcome = new Promise<SttResult | undefined>((resolve, fail) => {
      answer = resolve;
      reject = fail;
    });
    const request: ScriptedRequest = { answer, reject, aborted: [] };
    this.requests.push(request);
    this.track({ outcome, abort: (reason) => request.aborted.push(reason) });
  }

  failOptions(message: string): void {
    this.failAtStart(new ScriptedFailure(message, true));
  }

  protected asFailure(error: unknown): UtteranceFailure {
    return error instanceof ScriptedFailure ? error : new ScriptedFailure(`scripted: ${String(error)}`);
  }

  protected discardAudio(): void {
    this.discarded++;
  }

  protected override onPermanentFailure(): void {
    this.permanentFailures++;
    this.abortInFlight('session failed');
  }
}

function record(session: ScriptedSession): { results: string[]; failures: string[] } {
  const seen = { results: [] as string[], failures: [] as string[] };
  session.on('result', (r) => seen.results.push(r.text));
  session.on('failure', (e) => seen.failures.push(e.message));
  return seen;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UtteranceSttSession: the per-utterance request machinery the REST recognizers share', () => {
  it('keeps finals in utterance order when a later request is answered first', async () => {
    const session = new ScriptedSession();
    const seen = record(session);
    session.endOfUtterance();
    session.endOfUtterance();
    session.endOfUtterance();
    session.requests[2]!.answer({ text: 'third', final: true });
    session.requests[1]!.answer({ text: 'second', final: true });
    await settle();
    expect(seen.results).toEqual([]);
    session.requests[0]!.answer({ text: 'first', final: true });
    await settle();
    expect(seen.results).toEqual(['first', 'second', 'third']);
  });

  it('reports a failed utterance in its place and goes on; an utterance with no speech emits nothing', async () => {
    const session = new ScriptedSession();
    const seen = record(session);
    for (let i = 0; i < 3; i++) session.endOfUtterance();
    session.requests[2]!.answer({ text: 'after', final: true });
    session.requests[1]!.answer(undefined);
    session.requests[0]!.reject(new Error('socket hang up'));
    await settle();
    expect(seen.failures).toEqual(['scripted: Error: socket hang up']);
    expect(seen.results).toEqual(['after']);
  });

  it('reports a permanent failure once, stops taking utterances and lets the vendor stop the rest', async () => {
    const session = new ScriptedSession();
    const seen = record(session);
    session.endOfUtterance();
    session.endOfUtterance();
    session.requests[0]!.reject(new ScriptedFailure('HTTP 401 (bad key)', true));
    await settle();
    expect(session.permanentFailures).toBe(1);
    expect(session.requests[1]!.aborted).toEqual(['session failed']);
    session.requests[1]!.reject(new ScriptedFailure('HTTP 401 (bad key)', true));
    await settle();
    expect(seen.failures).toEqual(['HTTP 401 (bad key)']);
    session.endOfUtterance();
    expect(session.requests).toHaveLength(2);
  });

  it('close() aborts the requests in flight, drops the audio and emits nothing afterwards', async () => {
    const session = new ScriptedSession();
    const seen = record(session);
    session.endOfUtterance();
    session.endOfUtterance();
    session.close();
    session.close();
    expect(session.requests.map((r) => r.aborted)).toEqual([['session closed'], ['session closed']]);
    expect(session.discarded).toBe(1);
    session.requests[0]!.answer({ text: 'too late', final: true });
    session.requests[1]!.reject(new Error('aborted'));
    await settle();
    expect(seen).toEqual({ results: [], failures: [] });
  });

  it('reports unusable session options only after the caller attached its listeners', async () => {
    const session = new ScriptedSession();
    session.failOptions('sampleRate must be an integer');
    const seen = record(session);
    await settle();
    expect(seen.failures).toEqual(['sampleRate must be an integer']);
    session.endOfUtterance();
    expect(session.requests).toEqual([]);
  });
});
