/**
 * Dialing out from a live call (Plivo and Twilio <Dial>): every target rings at once (hunting: the
 * first to answer wins, the others are dropped), then the caller and the winner are bridged, each
 * hearing the other, until one hangs up, the time limit passes or the dial is aborted.
 */
import type { TimerHandle } from '../runtime/clock.js';
import { FRAME_SAMPLES_8K, type AnySimCall } from './simulated-call.js';
import { calleeResponse, HEARD_RATE, VirtualParty } from './virtual-party.js';

export interface DialTarget {
  /** The number (or SIP URI) dialed, for the timeline and callbacks. */
  label: string;
  party: VirtualParty;
}

/** How ringing ended: a winner, or why nobody answered. */
export type RingOutcome =
  | { kind: 'answered'; target: DialTarget }
  | { kind: 'busy' }
  | { kind: 'declined' }
  | { kind: 'failed' }
  | { kind: 'no-answer' }
  | { kind: 'canceled' };

/** What each way a target refuses makes of the dial. */
const RING_FAILURES = { busy: 'busy', unreachable: 'failed', declines: 'declined' } as const;

/** The virtual party registered at `number`, loaded and ready to ring; undefined (recorded) when nobody is there. */
export async function dialTarget(call: AnySimCall, number: string, label = number): Promise<DialTarget | undefined> {
  const script = call.env.lookupCallee(number);
  if (!script) {
    call.record({ type: 'dial', status: 'invalid-destination', number: label });
    return undefined;
  }
  const party = new VirtualParty(script, call.env.clock);
  await party.load().catch((err: Error) => call.warn(`callee ${label}: ${err.message}`));
  return { label, party };
}

/** Rings every target at once until one answers, all of them fail, `timeoutMs` passes or `signal` aborts. */
export function ringTargets(call: AnySimCall, targets: DialTarget[], timeoutMs: number, signal: AbortSignal): Promise<RingOutcome> {
  const clock = call.env.clock;
  if (targets.length === 0) return Promise.resolve({ kind: 'failed' });
  return new Promise((resolve) => {
    const timers: TimerHandle[] = [];
    const failures: ('busy' | 'declined' | 'failed')[] = [];
    let settled = false;
    const settle = (outcome: RingOutcome) => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.cancel();
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => settle({ kind: 'canceled' });
    // Once every target has failed there is nobody left to wait for: busy wins over declined over failed.
    const fail = (kind: 'busy' | 'declined' | 'failed') => {
      failures.push(kind);
      if (failures.length < targets.length) return;
      settle({ kind: failures.includes('busy') ? 'busy' : failures.includes('declined') ? 'declined' : 'failed' });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    for (const target of targets) {
      call.record({ type: 'dial', status: 'ringing', number: target.label });
      const { kind, afterMs } = calleeResponse(target.party.script);
      if (kind === 'never-answers' || afterMs >= timeoutMs) continue;
      const respond = kind === 'answers' ? () => settle({ kind: 'answered', target }) : () => fail(RING_FAILURES[kind]);
      timers.push(clock.setTimeout(respond, afterMs));
    }
    timers.push(clock.setTimeout(() => settle({ kind: 'no-answer' }), timeoutMs));
  });
}

/** Cross-connects the caller and the callee until either side ends, the time limit passes or `signal` aborts. */
export async function bridgeParties(call: AnySimCall, callee: VirtualParty, timeLimitMs: number, signal: AbortSignal): Promise<void> {
  callee.answer();
  let calleeFrame = 0;
  const callerVoice = new Int16Array(FRAME_SAMPLES_8K);
  const removeEar = call.addEarSource({
    label: 'bridge',
    pull: (out) => (callee.speak(calleeFrame++, HEARD_RATE, out) ? out.length : 0),
  });
  const removeTap = call.addFrameTap((frameIndex) => {
    call.party.speak(frameIndex, HEARD_RATE, callerVoice);
    callee.hear(callerVoice);
  });
  const removeKeys = call.addKeyListener(() => true); // keys go to the callee in a bridge, not to the documents
  await new Promise<void>((resolve) => {
    const timer = call.env.clock.setTimeout(done, timeLimitMs);
    callee.once('hangup', done);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      timer.cancel();
      callee.off('hangup', done);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
  callee.stop();
  removeEar();
  removeTap();
  removeKeys();
  void callee.writeRecording().catch(() => undefined);
}
