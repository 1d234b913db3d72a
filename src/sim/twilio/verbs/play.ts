/**
 * <Play loop digits>url</Play>: a WAV from http(s) or file://, played in real time; or, with `digits`,
 * DTMF tones played to the party (`w` is a half-second pause).
 */
import { NEXT, resolveUrl } from '../../document-executor.js';
import { playUrlInRealTime } from '../../playback.js';
import { loopAttr, playableDigits, VerbAttributeError } from '../../verb-attributes.js';
import { textContent, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execPlay(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const digits = el.attrs.digits;
  if (digits !== undefined) {
    ctx.call.partyHearsDigits(playableDigits(digits, `<Play digits="${digits}">`), 'twiml');
    return NEXT;
  }
  const raw = textContent(el);
  if (!raw) throw new VerbAttributeError('<Play> needs a URL or a digits attribute');
  // Twilio skips a file it cannot fetch or decode and moves on.
  await playUrlInRealTime(ctx.call, 'Play', resolveUrl(raw, ctx.documentUrl), loopAttr(el), ctx.signal);
  return NEXT;
}
