/** <Hangup/>: ends the call. */
import { TWILIO_ENDINGS } from '../call-endings.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execHangup(_ctx: TwimlContext): Promise<TwimlResult> {
  return { kind: 'end', ending: TWILIO_ENDINGS.hangupVerb };
}
