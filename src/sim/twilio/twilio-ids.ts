/** Twilio's identifiers and time format. */
import { randomBytes } from 'node:crypto';

export const API_VERSION = '2010-04-01';

/** A Twilio SID: two-letter type prefix (CA call, MZ media stream) and 32 hex digits. */
export function newSid(prefix: 'CA' | 'MZ'): string {
  return prefix + randomBytes(16).toString('hex');
}

export const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;

/** Twilio's timestamps (REST `date_created`, callback `Timestamp`): RFC 2822 in UTC, `Mon, 04 May 2026 10:00:00 +0000`. */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}
