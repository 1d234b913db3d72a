/**
 * <PreAnswer>: runs its Speak/Play/Wait/GetDigits children. The simulator has no early-media phase, so
 * the call is treated as answered from here (documented difference).
 */
import type { VerbContext, VerbResult } from '../xml-executor.js';
import { elementChildren, type XmlElement } from '../xml-document.js';

export async function execPreAnswer(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  return ctx.runNested(elementChildren(el), ctx.signal);
}
