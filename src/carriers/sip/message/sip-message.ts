/**
 * A SIP message as the transaction and dialog layers see it: a request or a response with an
 * ordered header list and a raw body. Header values stay the text that was received (unfolded and
 * trimmed) so a proxy-like use can pass unknown headers on verbatim; the grammar of the values that
 * matter lives in headers.ts. Names are looked up case-insensitively with compact forms expanded,
 * and list-valued headers (Via, Route, Contact...) read the same whether a peer sent one field per
 * value or joined them with commas.
 */
import { isToken, splitList } from './lexical.js';

/** INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, UPDATE, REGISTER, PRACK, SUBSCRIBE, MESSAGE, ... as received: methods are case-sensitive. */
export type SipMethod = string;

export interface SipRequest {
  kind: 'request';
  method: SipMethod;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** RFC 3261 7.3.3 and later RFCs' compact forms. */
const COMPACT_FORMS: Record<string, string> = {
  v: 'Via',
  f: 'From',
  t: 'To',
  i: 'Call-ID',
  m: 'Contact',
  l: 'Content-Length',
  c: 'Content-Type',
  k: 'Supported',
  e: 'Content-Encoding',
  s: 'Subject',
  r: 'Refer-To',
  b: 'Referred-By',
  o: 'Event',
  u: 'Allow-Events',
  x: 'Session-Expires',
  a: 'Accept-Contact',
  j: 'Reject-Contact',
  d: 'Request-Disposition',
  y: 'Identity',
  n: 'Identity-Info',
};

/** How known headers are written, whatever case they arrived in. */
const CANONICAL_NAMES = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Accept-Resource-Priority', 'Alert-Info', 'Allow',
  'Allow-Events', 'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Diversion', 'Error-Info',
  'Event', 'Expires', 'Feature-Caps', 'From', 'Geolocation', 'History-Info', 'Identity', 'Identity-Info', 'In-Reply-To',
  'Join', 'Max-Breadth', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Min-SE', 'Organization', 'P-Access-Network-Info',
  'P-Asserted-Identity', 'P-Associated-URI', 'P-Called-Party-ID', 'P-Charging-Vector', 'P-Early-Media',
  'P-Preferred-Identity', 'P-Visited-Network-ID', 'Path', 'Priority', 'Privacy', 'Proxy-Authenticate',
  'Proxy-Authentication-Info', 'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason', 'Record-Route', 'Recv-Info',
  'Refer-Sub', 'Refer-To', 'Referred-By', 'Reject-Contact', 'Remote-Party-ID', 'Replaces', 'Reply-To',
  'Request-Disposition', 'Require', 'Resource-Priority', 'Retry-After', 'Route', 'RSeq', 'Security-Client',
  'Security-Server', 'Security-Verify', 'Server', 'Service-Route', 'Session-Expires', 'Session-ID', 'SIP-ETag',
  'SIP-If-Match', 'Subject', 'Subscription-State', 'Supported', 'Target-Dialog', 'Timestamp', 'To', 'Unsupported',
  'User-Agent', 'User-to-User', 'Via', 'Warning', 'WWW-Authenticate',
];
const CANONICAL = new Map(CANONICAL_NAMES.map((name) => [name.toLowerCase(), name]));

/** Headers whose grammar is a comma-separated list; getAll splits them. Never Date, the auth headers or unknown headers, whose commas are not separators. */
const LIST_HEADERS = new Set(
  [
    'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Accept-Resource-Priority', 'Alert-Info', 'Allow',
    'Allow-Events', 'Call-Info', 'Contact', 'Content-Encoding', 'Content-Language', 'Diversion', 'Error-Info',
    'Geolocation', 'History-Info', 'In-Reply-To', 'P-Asserted-Identity', 'P-Associated-URI', 'P-Preferred-Identity',
    'Path', 'Proxy-Require', 'Reason', 'Record-Route', 'Recv-Info', 'Reject-Contact', 'Request-Disposition', 'Require',
    'Resource-Priority', 'Route', 'Security-Client', 'Security-Server', 'Security-Verify', 'Service-Route', 'Supported',
    'Unsupported', 'Via', 'Warning',
  ].map((name) => name.toLowerCase()),
);

/** The case-insensitive lookup key of a header name, compact forms expanded. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const full = COMPACT_FORMS[lower];
    if (full) return full.toLowerCase();
  }
  return lower;
}

/** The name a header is written with: canonical for known headers, as given for the rest. */
export function canonicalHeaderName(name: string): string {
  return CANONICAL.get(headerKey(name)) ?? name;
}

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}

interface HeaderField {
  name: string;
  key: string;
  value: string;
}

function checkField(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`invalid SIP header name ${JSON.stringify(name)}: expected a token`);
  // CR or LF in a value would let it smuggle extra header lines into the serialized message.
  if (value.includes('\r') || value.includes('\n')) throw new TypeError(`SIP header ${name} value contains CR or LF: ${JSON.stringify(value)}`);
}

export class SipHeaders {
  #fields: HeaderField[] = [];

  /** The first value; for list headers the first element of the first field. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    const list = LIST_HEADERS.has(key);
    for (const field of this.#fields) {
      if (field.key !== key) continue;
      if (!list) return field.value;
      const first = splitList(field.value).find((element) => element !== '');
      if (first !== undefined) return first;
    }
    return undefined;
  }

  /** Every value in order; list headers split on their top-level commas, empty elements dropped. `Contact: *` stays "*". */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const list = LIST_HEADERS.has(key);
    const out: string[] = [];
    for (const field of this.#fields) {
      if (field.key !== key) continue;
      if (!list) out.push(field.value);
      else for (const element of splitList(field.value)) if (element !== '') out.push(element);
    }
    return out;
  }

  has(name: string): boolean {
    const key = headerKey(name);
    return this.#fields.some((f) => f.key === key);
  }

  /** Replaces every field of that name with one, at the position of the first it replaced. */
  set(name: string, value: string): this {
    checkField(name, value);
    const key = headerKey(name);
    const at = this.#fields.findIndex((f) => f.key === key);
    const field = { name: canonicalHeaderName(name), key, value };
    if (at < 0) {
      this.#fields.push(field);
      return this;
    }
    this.#fields = this.#fields.filter((f, i) => i === at || f.key !== key);
    this.#fields[at] = field;
    return this;
  }

  append(name: string, value: string): this {
    checkField(name, value);
    this.#fields.push({ name: canonicalHeaderName(name), key: headerKey(name), value });
    return this;
  }

  /** Adds a field before every other field: where a new top Via goes. */
  prepend(name: string, value: string): this {
    checkField(name, value);
    this.#fields.unshift({ name: canonicalHeaderName(name), key: headerKey(name), value });
    return this;
  }

  remove(name: string): this {
    const key = headerKey(name);
    this.#fields = this.#fields.filter((f) => f.key !== key);
    return this;
  }

  /** Every field in order, as [canonical name, value]; a comma-joined list stays one field. */
  *entries(): IterableIterator<[name: string, value: string]> {
    for (const field of this.#fields) yield [field.name, field.value];
  }

  [Symbol.iterator](): IterableIterator<[name: string, value: string]> {
    return this.entries();
  }

  /** How many fields (lines) there are, not list elements. */
  get size(): number {
    return this.#fields.length;
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    copy.#fields = this.#fields.map((f) => ({ ...f }));
    return copy;
  }
}
