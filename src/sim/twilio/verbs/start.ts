/**
 * <Start><Stream url name track>: a listen-only media stream that runs beside the TwiML (which goes on
 * at once) until <Stop>, the end of the call, or the application closing it. It survives REST updates.
 */
import { NEXT } from '../../document-executor.js';
import { elementChildren, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';
import { openTwilioStream, readStreamNoun } from './stream-noun.js';

export async function execStart(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  for (const noun of elementChildren(el)) {
    if (noun.name === 'Stream') await openTwilioStream(ctx, readStreamNoun(ctx, noun, false));
    else ctx.call.warn(`<Start><${noun.name}> is not simulated; skipped`);
  }
  return NEXT;
}
