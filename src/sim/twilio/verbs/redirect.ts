/** <Redirect method>url</Redirect>: continue with the TwiML at `url` (relative to the current document). */
import { resolveUrl } from '../../document-executor.js';
import { methodAttr, VerbAttributeError } from '../../verb-attributes.js';
import { textContent, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execRedirect(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const raw = textContent(el);
  if (!raw) throw new VerbAttributeError('<Redirect> has no URL');
  return { kind: 'fetch', url: resolveUrl(raw, ctx.documentUrl), method: methodAttr(el), params: ctx.call.webhookParams() };
}
