/**
 * <Dial>: rings every <Number> at once, the first to answer wins and is bridged with the caller until
 * one hangs up or timeLimit passes. The action URL receives DialStatus, DialALegUUID and DialBLegUUID.
 */
import { randomUUID } from 'node:crypto';
import { NEXT, resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { elementChildren, textContent, type XmlElement } from '../xml-document.js';
import { boolAttr, methodAttr, numberAttr } from '../verb-attributes.js';
import { bridgeParties, dialTarget, ringTargets, type DialTarget, type RingOutcome } from '../dialing.js';

type DialStatus = 'completed' | 'busy' | 'failed' | 'no-answer' | 'cancel';

/** Plivo's DialStatus for a dial nobody answered; a declining callee cancels, as Plivo reports a rejected call. */
const UNANSWERED_STATUS: Record<Exclude<RingOutcome['kind'], 'answered'>, DialStatus> = {
  busy: 'busy',
  declined: 'cancel',
  failed: 'failed',
  'no-answer': 'no-answer',
  canceled: 'cancel',
};

export async function execDial(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const { call, signal } = ctx;
  const timeoutMs = numberAttr(el, 'timeout', 120, 1) * 1000;
  const timeLimitMs = numberAttr(el, 'timeLimit', 14_400, 1) * 1000;
  const targets: DialTarget[] = [];
  for (const child of elementChildren(el)) {
    const number = textContent(child);
    if (child.name === 'User') {
      call.warn(`<Dial><User>${number}</User>: SIP endpoints are not simulated`);
      continue;
    }
    const target = await dialTarget(call, number);
    if (target) targets.push(target);
  }

  const bLegUuid = randomUUID();
  const outcome = await ringTargets(call, targets, timeoutMs, signal);
  let status: DialStatus;
  if (outcome.kind === 'answered' && !signal.aborted) {
    call.record({ type: 'dial', status: 'answered', number: outcome.target.label });
    await bridgeParties(call, outcome.target.party, timeLimitMs, signal);
    status = 'completed';
  } else {
    status = outcome.kind === 'answered' ? 'cancel' : UNANSWERED_STATUS[outcome.kind];
  }
  if (signal.aborted) return NEXT;
  call.record({ type: 'dial', status });
  const action = el.attrs.action;
  if (!action) return NEXT;
  const answered = outcome.kind === 'answered';
  const params = call.params({ DialStatus: status, DialALegUUID: call.callUuid, DialBLegUUID: answered ? bLegUuid : '', DialAction: status });
  const url = resolveUrl(action, ctx.documentUrl);
  if (boolAttr(el, 'redirect', true)) return { kind: 'fetch', url, method: methodAttr(el), params };
  await call.env.requester.notify(url, methodAttr(el), params);
  return NEXT;
}
