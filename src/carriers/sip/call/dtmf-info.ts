/**
 * DTMF carried by SIP INFO, which some PBXs and SBCs send instead of RFC 4733 events:
 * `application/dtmf-relay` ("Signal=5\r\nDuration=160", Cisco's format) and `application/dtmf` ("5").
 */

const DIGIT = /^[0-9*#A-D]$/i;
/** Some peers send the RFC 4733 event number instead of the character. */
const EVENT_DIGITS = '0123456789*#ABCD';

/**
 * The digit an INFO carries: a digit, '' for a DTMF INFO we could not read (answered, ignored), or
 * undefined when the body is not DTMF at all.
 */
export function parseDtmfInfo(contentType: string, body: Buffer): string | undefined {
  if (contentType !== 'application/dtmf-relay' && contentType !== 'application/dtmf') return undefined;
  const text = body.toString('utf8').trim();
  const raw = contentType === 'application/dtmf' ? text : (/^\s*signal\s*=\s*(\S+)/im.exec(text)?.[1] ?? '');
  if (DIGIT.test(raw)) return raw.toUpperCase();
  if (/^\d{1,2}$/.test(raw) && Number(raw) < EVENT_DIGITS.length) return EVENT_DIGITS[Number(raw)];
  return '';
}
