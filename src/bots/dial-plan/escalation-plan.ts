/**
 * The seed-002 escalation call as a dial plan: say the ticket, offer "1 accept / 2 reject"
 * (interruptible by a key), wait 10 s, offer it once more, wait 10 s for the key; silence
 * throughout is "no answer". A key during either menu or the pause between them answers at once.
 */
import type { DialPlan } from './dial-plan.js';
import type { DialPlanCollectResult } from './collect-event.js';
import type { DialPlanResult } from './dial-plan-bot.js';

export interface EscalationPlanOptions {
  /** Where the answer is POSTed (see CollectEventPayload). */
  eventUrl?: string;
  menuText?: string;
  language?: string;
  gender?: 'male' | 'female';
  /** Silence after each menu before repeating it / giving up. Default 10 s. */
  waitSeconds?: number;
}

export const ESCALATION_MENU_TEXT = 'Press 1 to accept this ticket, or press 2 to reject it.';

/** Verbs: SAY ticket, SAY menu (bargeIn), PAUSE wait, SAY menu (bargeIn), COLLECT 1 digit within wait. */
export function seed002EscalationPlan(ticketText: string, options: EscalationPlanOptions = {}): DialPlan {
  const language = options.language ?? 'en-US';
  const wait = options.waitSeconds ?? 10;
  const message = (text: string) => ({ text, language, ...(options.gender ? { gender: options.gender } : {}) });
  const menu = { type: 'SAY' as const, message: message(options.menuText ?? ESCALATION_MENU_TEXT), bargeIn: true };
  return {
    verbs: [
      { type: 'SAY', message: message(ticketText), bargeIn: false },
      menu,
      { type: 'PAUSE', duration: wait },
      menu,
      { type: 'COLLECT', ...(options.eventUrl ? { eventUrl: options.eventUrl } : {}), maxDigits: 1, submitOnHash: false, timeout: wait },
    ],
  };
}

/** The escalation outcome of one call. Any other key, a timeout or a hangup is `no-answer` (the contact is tried again). */
export type EscalationAnswer = 'accepted' | 'rejected' | 'no-answer';

export function escalationAnswer(result: DialPlanResult | readonly DialPlanCollectResult[]): EscalationAnswer {
  const collects = 'collects' in result ? result.collects : result;
  const last = collects.at(-1);
  if (last?.status !== 'collected') return 'no-answer';
  if (last.digits === '1') return 'accepted';
  if (last.digits === '2') return 'rejected';
  return 'no-answer';
}
