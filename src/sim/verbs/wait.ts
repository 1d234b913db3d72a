/** <Wait length>: silence for `length` seconds (silence/minSilence detection is not simulated). */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import type { XmlElement } from '../xml-document.js';
import { numberAttr } from '../verb-attributes.js';

export async function execWait(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const length = numberAttr(el, 'length', 1, 0, 86_400);
  await ctx.call.sleep(length * 1000, ctx.signal);
  return NEXT;
}
