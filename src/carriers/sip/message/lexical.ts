/**
 * RFC 3261 section 25 character classes and the small scanners every header grammar shares: LWS,
 * quoted strings, comma lists, bounded decimal numbers. Everything is a table lookup or a single
 * left-to-right pass, never a backtracking regular expression, so the cost of parsing attacker
 * input stays linear in its length.
 */
import { SipParseError } from './sip-parse-error.js';

const TOKEN = 1; // token: alphanum - . ! % * _ + ` ' ~
const WORD = 2; // Call-ID word: token plus ( ) < > : \ " / [ ] ? { }
const USER = 4; // URI user: unreserved, user-unreserved (& = + $ , ; ? /); '%' escapes checked apart
const PASSWORD = 8; // URI password: unreserved, & = + $ ,
const PARAM = 16; // URI paramchar: unreserved, param-unreserved [ ] / : & + $
const HNV = 32; // URI header name/value: unreserved, hnv-unreserved [ ] / ? : + $
const URIC = 64; // any absolute URI: unreserved, reserved, [ ]
const HOST = 128; // hostname and IPv4: alphanum - . (and _ seen in container host names)

const CLASSES = new Uint8Array(128);
function mark(chars: string, flag: number): void {
  for (const ch of chars) CLASSES[ch.charCodeAt(0)] |= flag;
}
const ALPHANUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const UNRESERVED = ALPHANUM + "-_.!~*'()";
mark(ALPHANUM + "-.!%*_+`'~", TOKEN);
mark(ALPHANUM + "-.!%*_+`'~" + '()<>:\\"/[]?{}', WORD);
mark(UNRESERVED + '&=+$,;?/', USER);
mark(UNRESERVED + '&=+$,', PASSWORD);
mark(UNRESERVED + '[]/:&+$', PARAM);
mark(UNRESERVED + '[]/?:+$', HNV);
mark(UNRESERVED + ';/?:@&=+$,[]', URIC);
mark(ALPHANUM + '-._', HOST);

export const CharClass = { TOKEN, WORD, USER, PASSWORD, PARAM, HNV, URIC, HOST } as const;

export function hasClass(code: number, flag: number): boolean {
  return code < 128 && (CLASSES[code] & flag) !== 0;
}

export function isTokenChar(code: number): boolean {
  return code < 128 && (CLASSES[code] & TOKEN) !== 0;
}

export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

export function isLws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

export function isHexDigit(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

export function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

export function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** Index of the first non-SP/HTAB at or after `i`. */
export function skipLws(text: string, i: number): number {
  while (i < text.length && isLws(text.charCodeAt(i))) i++;
  return i;
}

/** Trims SP and HTAB only: String#trim would also eat non-breaking spaces that belong to a UTF-8 value. */
export function trimLws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isLws(text.charCodeAt(start))) start++;
  while (end > start && isLws(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

export function hasLws(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isLws(text.charCodeAt(i))) return true;
  return false;
}

/**
 * Reads the quoted-string that opens at `start` (a DQUOTE). `value` is the content with quoted-pairs
 * resolved, `end` the index after the closing quote. Control characters may only appear escaped.
 */
export function readQuotedString(text: string, start: number, what: string): { value: string; end: number } {
  let value = '';
  let runStart = start + 1;
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return { value: value + text.slice(runStart, i), end: i + 1 };
    if (code === 0x5c) {
      const next = text.charCodeAt(i + 1);
      // quoted-pair: "\" followed by any ASCII octet except CR and LF
      if (i + 1 >= text.length || next > 0x7f || next === 0x0a || next === 0x0d) {
        throw new SipParseError(`invalid escape in quoted string of ${what}: ${describe(text)}`);
      }
      value += text.slice(runStart, i) + text[i + 1];
      i++;
      runStart = i + 1;
      continue;
    }
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) {
      throw new SipParseError(`control character in quoted string of ${what}: ${describe(text)}`);
    }
  }
  throw new SipParseError(`unterminated quoted string in ${what}: ${describe(text)}`);
}

/** A quoted-string for `text`, escaping `"` and `\`; CR and LF cannot be carried at all. */
export function quoteString(text: string): string {
  if (/[\r\n]/.test(text)) throw new TypeError(`a SIP quoted string cannot contain CR or LF: ${describe(text)}`);
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Splits a header value on the commas that separate list elements: not those inside a quoted string
 * or between < and >. Elements are trimmed; empty ones are kept so callers can reject them.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let inQuote = false;
  let inAngle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (inQuote) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inQuote = false;
    } else if (code === 0x22) inQuote = true;
    else if (code === 0x3c) inAngle = true;
    else if (code === 0x3e) inAngle = false;
    else if (code === 0x2c && !inAngle) {
      out.push(trimLws(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimLws(value.slice(start)));
  return out;
}

export function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/**
 * A decimal of digits only (leading zeros allowed, as in RFC 4475's "0009"), or undefined when the
 * text is not 1*DIGIT or exceeds `max`. Never builds a huge number from a huge digit string.
 */
export function parseDecimal(text: string, max: number): number | undefined {
  if (!isDigits(text)) return undefined;
  let i = 0;
  while (i < text.length - 1 && text.charCodeAt(i) === 0x30) i++;
  if (text.length - i > 15) return undefined;
  const n = Number(text.slice(i));
  return n <= max ? n : undefined;
}

/** A value as it appears in an error message: quoted, control characters visible, at most 60 characters. */
export function describe(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  // eslint-disable-next-line no-control-regex -- making control characters visible is the point
  return `'${shown.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
}
