/**
 * <Reject reason>: refuses an inbound call without answering it: `busy` ends it busy, `rejected` (the
 * default) no-answer. Once the call is answered it is a plain hangup (the call is completed).
 */
import { enumAttr } from '../../verb-attributes.js';
import type { XmlElement } from '../../xml-document.js';
import { TWILIO_ENDINGS } from '../call-endings.js';
import type { TwimlContext, TwimlResult } from '../twiml-dialect.js';

export async function execReject(_ctx: TwimlContext, el: XmlElement): Promise<TwimlResult> {
  const reason = enumAttr(el, 'reason', ['rejected', 'busy'], 'rejected');
  return { kind: 'end', ending: reason === 'busy' ? TWILIO_ENDINGS.rejectBusy : TWILIO_ENDINGS.rejected };
}
