/** <Stop><Stream name/></Stop>: ends the listen-only stream started under that name (every started stream when unnamed). */
import { NEXT } from '../../document-executor.js';
import { elementChildren, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execStop(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const { call } = ctx;
  for (const noun of elementChildren(el)) {
    if (noun.name !== 'Stream') {
      call.warn(`<Stop><${noun.name}> is not simulated; skipped`);
      continue;
    }
    const name = noun.attrs.name;
    const started = [...call.streams].filter((s) => !s.streamOptions.bidirectional && (name === undefined || s.name === name));
    if (started.length === 0) call.warn(`<Stop><Stream${name ? ` name="${name}"` : ''}>: no such stream is running`);
    for (const stream of started) stream.close('<Stop><Stream>');
  }
  return NEXT;
}
