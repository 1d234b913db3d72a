/** <Say voice language loop>: text or SSML through the TTS provider (a placeholder tone without one), in real time. */
import { NEXT } from '../../document-executor.js';
import { speakInRealTime, speechRequest } from '../../playback.js';
import type { XmlElement } from '../../xml-document.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execSay(ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  await speakInRealTime(ctx.call, '<Say>', 'say', speechRequest(el, 'man'), ctx.signal);
  return NEXT;
}
