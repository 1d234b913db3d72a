/** <Play loop>url</Play>: a WAV from http(s) or file://, resampled to 8 kHz, played in real time. */
import { NEXT, resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../xml-document.js';
import { loopAttr } from '../verb-attributes.js';
import { playUrlInRealTime } from '../playback.js';

export async function execPlay(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const raw = textContent(el);
  if (!raw) throw new Error('<Play> has no URL');
  // Plivo skips a file it cannot fetch or decode and moves on.
  await playUrlInRealTime(ctx.call, 'Play', resolveUrl(raw, ctx.documentUrl), loopAttr(el), ctx.signal);
  return NEXT;
}
