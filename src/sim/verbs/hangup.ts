/** <Hangup reason schedule>: ends the call now, or after `schedule` seconds while the XML continues. */
import { HANGUP_CAUSES } from '../hangup-causes.js';
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import type { XmlElement } from '../xml-document.js';
import { numberAttr, VerbAttributeError } from '../verb-attributes.js';

export async function execHangup(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const reason = el.attrs.reason;
  if (reason !== undefined && reason !== 'rejected' && reason !== 'busy') {
    throw new VerbAttributeError(`<Hangup reason="${reason}">: expected rejected or busy`);
  }
  const cause = reason === 'busy' ? HANGUP_CAUSES.busy : reason === 'rejected' ? HANGUP_CAUSES.rejected : HANGUP_CAUSES.normal;
  const schedule = numberAttr(el, 'schedule', 0, 0);
  if (schedule > 0) {
    const call = ctx.call;
    const timer = call.env.clock.setTimeout(() => void call.hangup(cause, 'Answer XML'), schedule * 1000);
    call.signal.addEventListener('abort', () => timer.cancel(), { once: true });
    return NEXT;
  }
  return { kind: 'end', ending: { cause, source: 'Answer XML' } };
}
