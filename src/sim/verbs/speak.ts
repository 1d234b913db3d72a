/** <Speak voice language loop>: text or SSML through the TTS provider, played in real time. */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import type { XmlElement } from '../xml-document.js';
import { speakInRealTime, speechRequest } from '../playback.js';

export async function execSpeak(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  await speakInRealTime(ctx.call, '<Speak>', 'speak', speechRequest(el, 'WOMAN'), ctx.signal);
  return NEXT;
}
