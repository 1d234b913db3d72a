/**
 * <Connect action method><Stream url>: a bidirectional media stream. The TwiML goes on only after the
 * socket closes (the application closed it); a REST update that replaces the TwiML ends the stream.
 * With `action`, Twilio then requests it and runs the TwiML it returns; otherwise the next verb runs.
 */
import { NEXT, resolveUrl } from '../../document-executor.js';
import { methodAttr } from '../../verb-attributes.js';
import { elementChildren, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';
import { openTwilioStream, readStreamNoun } from './stream-noun.js';

export async function execConnect(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const { call, signal } = ctx;
  for (const noun of elementChildren(el)) {
    if (noun.name !== 'Stream') {
      call.warn(`<Connect><${noun.name}> is not simulated; skipped`);
      continue;
    }
    const client = await openTwilioStream(ctx, readStreamNoun(ctx, noun, true));
    if (!client) continue;
    const replaced = () => client.close(call.isEnded ? 'call ended' : "the call's TwiML was replaced");
    if (signal.aborted) replaced();
    else signal.addEventListener('abort', replaced, { once: true });
    await client.closed;
    signal.removeEventListener('abort', replaced);
  }
  if (signal.aborted || !el.attrs.action) return NEXT;
  return { kind: 'fetch', url: resolveUrl(el.attrs.action, ctx.documentUrl), method: methodAttr(el), params: call.webhookParams() };
}
