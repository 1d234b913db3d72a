/**
 * <GetDigits> and <GetInput inputType="dtmf">: play the nested prompts (a key press stops them), collect
 * keys until numDigits, finishOnKey or the inter-digit timeout, then POST the action URL with Digits and
 * run the XML it returns. With no input the next element runs (GetDigits retries first).
 */
import { NEXT, resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { elementChildren, type XmlElement } from '../xml-document.js';
import { boolAttr, methodAttr, numberAttr, VerbAttributeError } from '../verb-attributes.js';
import { collectDigits, type CollectOptions } from '../digit-collector.js';

async function afterInput(ctx: VerbContext, el: XmlElement, params: Record<string, string>): Promise<VerbResult> {
  const action = el.attrs.action;
  if (!action) {
    ctx.call.warn(`<${el.name}> has no action URL; the digits ${params.Digits} go nowhere`);
    return NEXT;
  }
  const url = resolveUrl(action, ctx.documentUrl);
  const method = methodAttr(el);
  if (boolAttr(el, 'redirect', true)) return { kind: 'fetch', url, method, params };
  await ctx.call.env.requester.notify(url, method, params);
  return NEXT;
}

export async function execGetDigits(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const finishOnKey = el.attrs.finishOnKey ?? '#';
  const opts: CollectOptions = {
    numDigits: numberAttr(el, 'numDigits', 99, 1, 99),
    firstTimeoutMs: numberAttr(el, 'timeout', 5, 0) * 1000,
    digitTimeoutMs: numberAttr(el, 'digitTimeout', 2, 0) * 1000,
    finishOnKey: finishOnKey === 'none' ? '' : finishOnKey,
    validDigits: el.attrs.validDigits ?? '1234567890*#',
  };
  const retries = numberAttr(el, 'retries', 1, 1, 100);
  for (let attempt = 1; attempt <= retries && !ctx.signal.aborted; attempt++) {
    const { digits } = await collectDigits(ctx, elementChildren(el), opts);
    if (digits) return afterInput(ctx, el, ctx.call.params({ Digits: digits }));
  }
  return NEXT;
}

export async function execGetInput(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const inputType = (el.attrs.inputType ?? '').split(/\s+/).filter(Boolean);
  if (inputType.length === 0) throw new VerbAttributeError('<GetInput> needs inputType (dtmf, speech or "dtmf speech")');
  for (const t of inputType) if (t !== 'dtmf' && t !== 'speech') throw new VerbAttributeError(`<GetInput inputType="${el.attrs.inputType}">: unknown input type ${t}`);
  if (inputType.includes('speech')) ctx.call.warn('<GetInput> speech recognition is not simulated; only DTMF can complete it');
  const endTimeout = el.attrs.digitEndTimeout;
  const finishOnKey = el.attrs.finishOnKey ?? '#';
  const opts: CollectOptions = {
    numDigits: numberAttr(el, 'numDigits', 32, 1, 32),
    firstTimeoutMs: numberAttr(el, 'executionTimeout', 15, 0, 60) * 1000,
    digitTimeoutMs: (endTimeout === undefined || endTimeout === 'auto' ? 5 : numberAttr(el, 'digitEndTimeout', 5, 0, 10)) * 1000,
    finishOnKey: finishOnKey === 'none' ? '' : finishOnKey,
    validDigits: '1234567890*#ABCD',
  };
  const digits = inputType.includes('dtmf') ? (await collectDigits(ctx, elementChildren(el), opts)).digits : '';
  if (!digits) {
    if (!inputType.includes('dtmf')) await ctx.call.sleep(opts.firstTimeoutMs, ctx.signal);
    return NEXT;
  }
  return afterInput(ctx, el, ctx.call.params({ InputType: 'dtmf', Digits: digits, Speech: '', SpeechConfidenceScore: '' }));
}
