/**
 * <Dial timeout timeLimit action method>: rings every <Number> and <Sip> (or the number given as text) at
 * once, bridges the first to answer with the caller until one hangs up or timeLimit passes, then
 * requests `action` with DialCallStatus, DialCallSid and DialCallDuration (and DialSipResponseCode for
 * SIP) and runs the TwiML it returns; without `action` the next verb runs. A <Sip> URI reaches the
 * virtual party registered under its user part; its query parameters are the SIP headers sent along,
 * recorded on the timeline. Other nouns (Client, Conference, Queue...) are not simulated.
 */
import { NEXT, resolveUrl } from '../../document-executor.js';
import { bridgeParties, dialTarget, ringTargets, type DialTarget, type RingOutcome } from '../../dialing.js';
import { methodAttr, numberAttr, VerbAttributeError } from '../../verb-attributes.js';
import { elementChildren, textContent, type XmlElement } from '../../xml-document.js';
import { newSid } from '../twilio-ids.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

type DialCallStatus = 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** A callee's decline reaches Twilio as a busy indication (see call-endings.ts). */
const DIAL_STATUS: Record<RingOutcome['kind'], { status: DialCallStatus; sipCode: number }> = {
  answered: { status: 'completed', sipCode: 200 },
  busy: { status: 'busy', sipCode: 486 },
  declined: { status: 'busy', sipCode: 603 },
  failed: { status: 'failed', sipCode: 404 },
  'no-answer': { status: 'no-answer', sipCode: 487 },
  canceled: { status: 'canceled', sipCode: 487 },
};

const SIP_URI = /^sips?:([^@;?\s]+)@([^;?\s]+)(;[^?\s]*)?(?:\?(\S*))?$/i;

/** `sip:user@host;params?X-Header=value&...`: the user part and the headers. */
export function parseSipUri(uri: string): { user: string; headers: Record<string, string> } {
  const match = SIP_URI.exec(uri);
  if (!match) throw new VerbAttributeError(`<Sip>${uri}</Sip>: expected a SIP URI like sip:user@host?X-Header=value`);
  return { user: decodeURIComponent(match[1]), headers: Object.fromEntries(new URLSearchParams(match[4] ?? '')) };
}

export async function execDial(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const { call, signal } = ctx;
  const timeoutMs = numberAttr(el, 'timeout', 30, 5, 600) * 1000;
  const timeLimitMs = numberAttr(el, 'timeLimit', 14_400, 1, 14_400) * 1000;
  const targets: DialTarget[] = [];
  let dialsSip = false;
  const nouns = elementChildren(el);
  if (nouns.length === 0) {
    const number = textContent(el);
    if (!number) throw new VerbAttributeError('<Dial> needs a number as text or a <Number>/<Sip> noun');
    const target = await dialTarget(call, number);
    if (target) targets.push(target);
  }
  for (const noun of nouns) {
    const text = textContent(noun);
    if (noun.name === 'Number') {
      const target = await dialTarget(call, text);
      if (target) targets.push(target);
    } else if (noun.name === 'Sip') {
      const { user, headers } = parseSipUri(text);
      dialsSip = true;
      call.record({ type: 'sip-headers', uri: text, headers });
      const target = await dialTarget(call, user, text);
      if (target) targets.push(target);
    } else {
      call.warn(`<Dial><${noun.name}> is not simulated; skipped`);
    }
  }

  const outcome = await ringTargets(call, targets, timeoutMs, signal);
  let durationSec = 0;
  if (outcome.kind === 'answered' && !signal.aborted) {
    call.record({ type: 'dial', status: 'answered', number: outcome.target.label });
    const bridgedAt = call.env.clock.now();
    await bridgeParties(call, outcome.target.party, timeLimitMs, signal);
    durationSec = Math.round((call.env.clock.now() - bridgedAt) / 1000);
  }
  if (signal.aborted) return NEXT;
  const { status, sipCode } = DIAL_STATUS[outcome.kind];
  call.record({ type: 'dial', status });
  if (!el.attrs.action) return NEXT;
  const params = call.webhookParams({ DialCallStatus: status, DialCallDuration: String(durationSec) });
  if (targets.length > 0) params.DialCallSid = newSid('CA');
  if (dialsSip) params.DialSipResponseCode = String(sipCode);
  return { kind: 'fetch', url: resolveUrl(el.attrs.action, ctx.documentUrl), method: methodAttr(el), params };
}
