/**
 * <Gather input="dtmf" numDigits timeout finishOnKey action method actionOnEmptyResult>: plays the nested
 * Say/Play/Pause (a key press stops them), collects keys until numDigits, finishOnKey or `timeout`
 * seconds without a key, then requests `action` (by default the current document's URL) with Digits
 * and runs the TwiML it returns. With no input the next verb runs. Speech input is not recognized.
 */
import { NEXT, resolveUrl } from '../../document-executor.js';
import { collectDigits } from '../../digit-collector.js';
import { boolAttr, methodAttr, numberAttr, VerbAttributeError } from '../../verb-attributes.js';
import { elementChildren, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execGather(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const { call } = ctx;
  const inputs = (el.attrs.input ?? 'dtmf').split(/\s+/).filter(Boolean);
  for (const input of inputs) if (input !== 'dtmf' && input !== 'speech') throw new VerbAttributeError(`<Gather input="${el.attrs.input}">: unknown input ${input} (expected dtmf, speech or "dtmf speech")`);
  if (inputs.includes('speech')) call.warn('<Gather> speech recognition is not simulated; only DTMF can complete it');
  const timeoutMs = numberAttr(el, 'timeout', 5, 0, 600) * 1000;
  const finishOnKey = el.attrs.finishOnKey ?? '#';
  if (!/^[0-9*#]?$/.test(finishOnKey)) throw new VerbAttributeError(`<Gather finishOnKey="${finishOnKey}">: expected one of 0-9 * # or empty`);
  if (!inputs.includes('dtmf')) {
    await call.sleep(timeoutMs, ctx.signal);
    return NEXT;
  }
  const { digits, finishedOnKey } = await collectDigits(ctx, elementChildren(el), {
    numDigits: numberAttr(el, 'numDigits', Infinity, 1),
    firstTimeoutMs: timeoutMs,
    digitTimeoutMs: timeoutMs,
    finishOnKey,
    validDigits: '0123456789*#',
  });
  if (ctx.signal.aborted || (!digits && !boolAttr(el, 'actionOnEmptyResult', false))) return NEXT;
  const action = el.attrs.action ? resolveUrl(el.attrs.action, ctx.documentUrl) : ctx.documentUrl;
  if (!action) {
    call.warn(`<Gather> without an action in inline TwiML: the digits ${JSON.stringify(digits)} go nowhere`);
    return NEXT;
  }
  return { kind: 'fetch', url: action, method: methodAttr(el), params: call.webhookParams({ Digits: digits, FinishedOnKey: finishedOnKey }) };
}
