/** <Speak voice language loop>: text or SSML through the TTS provider, played in real time. */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import { elementChildren, innerXml, textContent, type XmlElement } from '../xml-document.js';
import { numberAttr } from '../verb-attributes.js';
import { speakInRealTime } from '../playback.js';

export async function execSpeak(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const ssml = elementChildren(el).length > 0;
  const text = ssml ? `<speak>${innerXml(el)}</speak>` : textContent(el);
  // loop="0" means "repeat until something stops it"; bounded so a forgotten loop cannot run forever.
  const loop = numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
  const request = { text, ssml, language: el.attrs.language ?? 'en-US', voice: el.attrs.voice ?? 'WOMAN', loop };
  await speakInRealTime(ctx.call, '<Speak>', 'speak', request, ctx.signal);
  return NEXT;
}
