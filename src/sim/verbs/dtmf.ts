/** <DTMF>digits</DTMF>: sends digits to the party (it "hears" them; recorded on the timeline). */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../xml-document.js';
import { playableDigits } from '../verb-attributes.js';

export async function execDtmf(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const digits = textContent(el);
  ctx.call.partyHearsDigits(playableDigits(digits, `<DTMF>${digits}</DTMF>`), 'xml');
  return NEXT;
}
