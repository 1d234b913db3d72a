/** <Pause length>: silence for `length` seconds (default 1). */
import { NEXT } from '../../document-executor.js';
import { numberAttr } from '../../verb-attributes.js';
import type { XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execPause(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  await ctx.call.sleep(numberAttr(el, 'length', 1, 0, 86_400) * 1000, ctx.signal);
  return NEXT;
}
