/** <DTMF>digits</DTMF>: sends digits to the party (it "hears" them; recorded on the timeline). */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../xml-document.js';

export async function execDtmf(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const digits = textContent(el);
  if (!/^[0-9*#A-Dw]+$/.test(digits)) throw new Error(`<DTMF>${digits}</DTMF>: expected digits 0-9 * # A-D (w for a pause)`);
  ctx.call.partyHearsDigits(digits.replace(/w/g, ''), 'xml');
  return NEXT;
}
