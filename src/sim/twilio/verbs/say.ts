/** <Say voice language loop>: text or SSML through the TTS provider (a placeholder tone without one), in real time. */
import { NEXT } from '../../document-executor.js';
import { speakInRealTime } from '../../playback.js';
import { numberAttr } from '../../verb-attributes.js';
import { elementChildren, innerXml, textContent, type XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execSay(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const ssml = elementChildren(el).length > 0;
  const text = ssml ? `<speak>${innerXml(el)}</speak>` : textContent(el);
  // loop="0" repeats until the call ends; bounded so a forgotten loop cannot run forever.
  const loop = numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
  const request = { text, ssml, language: el.attrs.language ?? 'en-US', voice: el.attrs.voice ?? 'man', loop };
  await speakInRealTime(ctx.call, '<Say>', 'say', request, ctx.signal);
  return NEXT;
}
