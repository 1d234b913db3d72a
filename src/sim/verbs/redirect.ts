/** <Redirect method>url</Redirect>: fetch the next document from `url` (Event=Redirect). */
import { resolveUrl, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../xml-document.js';
import { methodAttr } from '../verb-attributes.js';

export async function execRedirect(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const raw = textContent(el);
  if (!raw) throw new Error('<Redirect> has no URL');
  return { kind: 'fetch', url: resolveUrl(raw, ctx.documentUrl), method: methodAttr(el), params: ctx.call.params({ Event: 'Redirect' }) };
}
