/** <Speak voice language loop>: text or SSML through the TTS provider, played in real time. */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import { elementChildren, innerXml, textContent, type XmlElement } from '../plivo-xml.js';
import { HEARD_RATE } from '../virtual-party.js';
import { numberAttr } from './attributes.js';
import { playInRealTime } from './playback.js';

export async function execSpeak(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const { call, signal } = ctx;
  const tts = call.env.tts;
  if (!tts) {
    call.warn('<Speak> needs a TTS provider; the simulator was created without one, so nothing is heard');
    return NEXT;
  }
  const ssml = elementChildren(el).length > 0;
  const text = ssml ? `<speak>${innerXml(el)}</speak>` : textContent(el);
  if (!text) return NEXT;
  // loop="0" means "repeat until something stops it"; bounded so a forgotten loop cannot run forever.
  const loop = numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
  const request = { text, ssml, language: el.attrs.language ?? 'en-US', voice: el.attrs.voice ?? 'WOMAN', sampleRate: HEARD_RATE };
  await playInRealTime(call, 'speak', signal, async (queue) => {
    // Synthesize once, replay for loops: the same audio Plivo would repeat.
    const chunks: Int16Array[] = [];
    for await (const chunk of tts.synthesize(request, signal)) {
      if (signal.aborted) return;
      chunks.push(chunk);
      queue.push(chunk);
    }
    for (let i = 1; i < loop && !signal.aborted; i++) for (const c of chunks) queue.push(c);
  });
  return NEXT;
}
