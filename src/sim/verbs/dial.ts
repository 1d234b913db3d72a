/**
 * <Dial>: rings every <Number> at once (hunting: the first to answer wins, the others are cancelled),
 * then bridges the two virtual parties' audio until one hangs up or timeLimit passes. The action URL
 * receives DialStatus, DialALegUUID and DialBLegUUID.
 */
import { randomUUID } from 'node:crypto';
import type { TimerHandle } from '../../runtime/clock.js';
import { NEXT, resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { elementChildren, textContent, type XmlElement } from '../plivo-xml.js';
import { VirtualParty } from '../virtual-party.js';
import { FRAME_SAMPLES_8K } from '../sim-call.js';
import { boolAttr, methodAttr, numberAttr } from './attributes.js';

type DialStatus = 'completed' | 'busy' | 'failed' | 'no-answer' | 'cancel';

export async function execDial(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const { call, signal } = ctx;
  const clock = call.env.clock;
  const timeoutMs = numberAttr(el, 'timeout', 120, 1) * 1000;
  const timeLimitMs = numberAttr(el, 'timeLimit', 14_400, 1) * 1000;
  const targets: { number: string; party: VirtualParty }[] = [];
  for (const child of elementChildren(el)) {
    const number = textContent(child);
    if (child.name === 'User') {
      call.warn(`<Dial><User>${number}</User>: SIP endpoints are not simulated`);
      continue;
    }
    const script = call.env.lookupCallee(number);
    if (!script) {
      call.record({ type: 'dial', status: 'invalid-destination', number });
      continue;
    }
    targets.push({ number, party: new VirtualParty(script, clock) });
  }
  await Promise.all(targets.map((t) => t.party.load().catch((err: Error) => call.warn(`callee ${t.number}: ${err.message}`))));

  const bLegUuid = randomUUID();
  let status: DialStatus;
  let winner: { number: string; party: VirtualParty } | undefined;
  if (targets.length === 0) status = 'failed';
  else {
    ({ status, winner } = await ring(ctx, targets, timeoutMs));
  }
  if (winner && !signal.aborted) {
    call.record({ type: 'dial', status: 'answered', number: winner.number });
    await bridge(ctx, winner.party, timeLimitMs);
    void winner.party.writeRecording().catch(() => undefined);
    status = 'completed';
  }
  if (signal.aborted) return NEXT;
  call.record({ type: 'dial', status });
  const action = el.attrs.action;
  if (!action) return NEXT;
  const params = call.params({ DialStatus: status, DialALegUUID: call.callUuid, DialBLegUUID: winner ? bLegUuid : '', DialAction: status });
  const url = resolveUrl(action, ctx.documentUrl);
  if (boolAttr(el, 'redirect', true)) return { kind: 'fetch', url, method: methodAttr(el), params };
  await call.env.requester.notify(url, methodAttr(el), params);
  return NEXT;
}

function ring(
  ctx: VerbContext,
  targets: { number: string; party: VirtualParty }[],
  timeoutMs: number,
): Promise<{ status: DialStatus; winner?: { number: string; party: VirtualParty } }> {
  const clock = ctx.call.env.clock;
  return new Promise((resolve) => {
    const timers: TimerHandle[] = [];
    let pending = targets.length;
    let settled = false;
    const settle = (result: { status: DialStatus; winner?: { number: string; party: VirtualParty } }) => {
      if (settled) return;
      settled = true;
      for (const t of timers) t.cancel();
      ctx.signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onAbort = () => settle({ status: 'cancel' });
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    for (const target of targets) {
      ctx.call.record({ type: 'dial', status: 'ringing', number: target.number });
      const s = target.party.script;
      if (s.busy) {
        if (--pending === 0) timers.push(clock.setTimeout(() => settle({ status: 'busy' }), 50));
        continue;
      }
      if (s.neverAnswer || (s.answerAfterSec ?? 0) * 1000 >= timeoutMs) continue;
      timers.push(clock.setTimeout(() => settle({ status: 'completed', winner: target }), (s.answerAfterSec ?? 0) * 1000));
    }
    timers.push(clock.setTimeout(() => settle({ status: 'no-answer' }), timeoutMs));
  });
}

/** Cross-connects the caller and the callee until either side ends or the time limit passes. */
async function bridge(ctx: VerbContext, callee: VirtualParty, timeLimitMs: number): Promise<void> {
  const { call, signal } = ctx;
  callee.answer();
  let calleeFrame = 0;
  const callerVoice = new Int16Array(FRAME_SAMPLES_8K);
  const removeEar = call.addEarSource({
    label: 'bridge',
    pull: (out) => (callee.speak(calleeFrame++, 8000, out) ? out.length : 0),
  });
  const removeTap = call.addFrameTap((frameIndex) => {
    call.party.speak(frameIndex, 8000, callerVoice);
    callee.hear(callerVoice);
  });
  const removeKeys = call.addKeyListener(() => true); // keys go to the callee in a bridge, not to the XML
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
}
