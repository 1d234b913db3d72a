/**
 * Session timers (RFC 4028): when the peer supports them, the session is refreshed every
 * Session-Expires seconds by the side named `refresher`, and a session nobody refreshes is ended —
 * how SIP notices a call whose other end vanished without a BYE.
 */
import type { SipRequest } from '../message/sip-message.js';

export interface SessionTimer {
  expiresSec: number;
  /** Who refreshes: the peer that sent the INVITE (uac) or us (uas). */
  refresher: 'uac' | 'uas';
  /** Headers for our 2xx: the agreed interval, and Require: timer when the peer supports it. */
  responseHeaders: [string, string][];
}

/** RFC 4028's floor for Session-Expires. */
export const MIN_SESSION_EXPIRES = 90;

/**
 * The timer for a session the peer's request offers, or undefined when it neither asks for one nor
 * supports them. Our preferred interval applies when the peer names none; a request below
 * MIN_SESSION_EXPIRES was already refused with 422 by the caller of this.
 */
export function negotiateSessionTimer(request: Pick<SipRequest, 'headers'>, preferredSec: number): SessionTimer | undefined {
  const supported = request.headers.getAll('supported').some((e) => e.trim().toLowerCase() === 'timer');
  const header = request.headers.get('session-expires');
  if (!header && !supported) return undefined;
  const match = header ? /^\s*(\d+)\s*(?:;(.*))?$/.exec(header) : null;
  // The peer's interval stands (it is at least the floor, or it was refused); without one, ours.
  const expiresSec = match ? Math.max(MIN_SESSION_EXPIRES, Number(match[1])) : Math.max(MIN_SESSION_EXPIRES, preferredSec);
  const asked = match?.[2] ? /refresher\s*=\s*(uac|uas)/i.exec(match[2])?.[1]?.toLowerCase() : undefined;
  // Without the peer's support only we can refresh (RFC 4028 9); with it, the peer refreshes unless it asked us to.
  const refresher: 'uac' | 'uas' = !supported ? 'uas' : asked === 'uas' ? 'uas' : 'uac';
  const responseHeaders: [string, string][] = [['Session-Expires', `${expiresSec};refresher=${refresher}`]];
  if (supported) responseHeaders.push(['Require', 'timer']);
  return { expiresSec, refresher, responseHeaders };
}

/** Whether the request's Session-Expires is below what we accept: the caller answers 422 with Min-SE. */
export function sessionIntervalTooSmall(request: SipRequest): boolean {
  const header = request.headers.get('session-expires');
  const match = header ? /^\s*(\d+)/.exec(header) : null;
  return match !== null && Number(match[1]) < MIN_SESSION_EXPIRES;
}
