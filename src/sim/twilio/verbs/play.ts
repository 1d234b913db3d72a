/**
 * <Play loop digits>url</Play>: a WAV from http(s) or file://, played in real time; or, with `digits`,
 * DTMF tones played to the party (`w` is a half-second pause).
 */
import { NEXT, resolveUrl } from '../../document-executor.js';
import { playUrlInRealTime } from '../../playback.js';
import { numberAttr, VerbAttributeError } from '../../verb-attributes.js';
import { textContent, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execPlay(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const digits = el.attrs.digits;
  if (digits !== undefined) {
    if (!/^[0-9*#A-Dw]+$/.test(digits)) throw new VerbAttributeError(`<Play digits="${digits}">: expected digits 0-9 * # A-D (w for a pause)`);
    ctx.call.partyHearsDigits(digits.replace(/w/g, ''), 'twiml');
    return NEXT;
  }
  const raw = textContent(el);
  if (!raw) throw new VerbAttributeError('<Play> needs a URL or a digits attribute');
  const loop = numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
  // Twilio skips a file it cannot fetch or decode and moves on.
  await playUrlInRealTime(ctx.call, 'Play', resolveUrl(raw, ctx.documentUrl), loop, ctx.signal);
  return NEXT;
}
