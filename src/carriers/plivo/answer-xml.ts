/**
 * The Plivo XML Voxgate answers calls with: a bidirectional <Stream> that keeps the call alive
 * until the socket closes, or a <Hangup>.
 */
import { escapeXml } from '../../runtime/xml-escape.js';

/** The stream audio formats Voxgate supports; always sent explicitly (Plivo's default differs between its documents). */
export const PLIVO_CONTENT_TYPES = ['audio/x-mulaw;rate=8000', 'audio/x-l16;rate=8000', 'audio/x-l16;rate=16000'] as const;
export type PlivoContentType = (typeof PLIVO_CONTENT_TYPES)[number];
export type PlivoEncoding = 'audio/x-mulaw' | 'audio/x-l16';

export interface PlivoMediaFormat {
  encoding: PlivoEncoding;
  sampleRate: 8000 | 16000;
}

/** Parses a contentType string (spaces and case tolerated); throws naming the accepted values. */
export function parsePlivoContentType(value: string): PlivoMediaFormat {
  const normalized = value.replace(/\s+/g, '').toLowerCase();
  const match = /^(audio\/x-mulaw|audio\/x-l16);rate=(\d+)$/.exec(normalized);
  const rate = match ? Number(match[2]) : NaN;
  if (!match || !PLIVO_CONTENT_TYPES.includes(normalized as PlivoContentType)) {
    throw new Error(`Unsupported Plivo contentType "${value}": expected one of ${PLIVO_CONTENT_TYPES.join(', ')}`);
  }
  return { encoding: match[1] as PlivoEncoding, sampleRate: rate as 8000 | 16000 };
}

export function isPlivoContentType(value: string): value is PlivoContentType {
  return (PLIVO_CONTENT_TYPES as readonly string[]).includes(value);
}


export interface StreamXmlOptions {
  /** wss:// (or ws://) URL of the stream endpoint; becomes the element body. */
  streamUrl: string;
  contentType: PlivoContentType;
  /** Sent back on the stream's messages; must keep Plivo's rule (STREAM_EXTRA_HEADERS_RULE). */
  extraHeaders?: Record<string, string>;
  statusCallbackUrl?: string;
  statusCallbackMethod?: 'GET' | 'POST';
  /** Seconds before Plivo ends the stream (its default is 86400). */
  streamTimeout?: number;
}

/** Formats extra headers as Plivo's `k=v,k2=v2`; separators inside keys or values would corrupt the list, so they are refused. */
export function formatExtraHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([key, value]) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(key)) {
        throw new Error(`Plivo extraHeaders key "${key}" is invalid: expected letters, digits, "_", "." or "-"`);
      }
      if (/[,;=]/.test(value)) {
        throw new Error(`Plivo extraHeaders value for "${key}" contains ",", ";" or "=", which Plivo uses as separators`);
      }
      return `${key}=${value}`;
    })
    .join(',');
}

/** Plivo's documented rule for `<Stream extraHeaders>`; Plivo may refuse the whole answer XML when it is broken. */
export const STREAM_EXTRA_HEADERS_RULE = 'keys and values of letters and digits only ([A-Za-z0-9]), at most 512 bytes as "k=v,k2=v2"';
const STREAM_HEADER_TOKEN = /^[A-Za-z0-9]+$/;
const STREAM_EXTRA_HEADERS_MAX_BYTES = 512;

/** Why these headers break Plivo's <Stream extraHeaders> rule (naming the key or value), or undefined. */
export function streamExtraHeadersProblem(headers: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (!STREAM_HEADER_TOKEN.test(key)) return `key ${JSON.stringify(key)} breaks Plivo's extraHeaders rule: ${STREAM_EXTRA_HEADERS_RULE}`;
    if (!STREAM_HEADER_TOKEN.test(value)) return `value ${JSON.stringify(value)} of "${key}" breaks Plivo's extraHeaders rule: ${STREAM_EXTRA_HEADERS_RULE}`;
  }
  const bytes = Buffer.byteLength(formatExtraHeaders(headers));
  if (bytes > STREAM_EXTRA_HEADERS_MAX_BYTES) return `extraHeaders are ${bytes} bytes, over Plivo's limit: ${STREAM_EXTRA_HEADERS_RULE}`;
  return undefined;
}

/** `k=v,k2=v2` for <Stream extraHeaders>; throws naming what breaks Plivo's rule. */
export function formatStreamExtraHeaders(headers: Record<string, string>): string {
  const problem = streamExtraHeadersProblem(headers);
  if (problem) throw new Error(`Plivo <Stream> ${problem}`);
  return formatExtraHeaders(headers);
}

/**
 * Parses the extra headers a stream message carries. Plivo's shapes vary: `a=1,b=2`, `a=1;b=2`, and on
 * stream messages a braced map (`{}`, `{a: 1, b: 2}`) or JSON; pieces that are not key-value are ignored.
 */
export function parseExtraHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const text = value?.trim();
  if (!text) return out;
  if (text.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === 'object' && !Array.isArray(json)) {
        for (const [k, v] of Object.entries(json)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
        return out;
      }
    } catch {
      // Not JSON: Plivo's own `{k: v}` rendering, read below.
    }
  }
  const braced = text.startsWith('{') && text.endsWith('}');
  for (const piece of (braced ? text.slice(1, -1) : text).split(/[,;]/)) {
    const sep = braced ? piece.search(/[:=]/) : piece.indexOf('=');
    if (sep <= 0) continue;
    out[piece.slice(0, sep).trim()] = piece.slice(sep + 1).trim();
  }
  return out;
}

export function streamXml(options: StreamXmlOptions): string {
  if (!/^wss?:\/\//i.test(options.streamUrl)) {
    throw new Error(`Plivo stream URL "${options.streamUrl}" must start with wss:// or ws://`);
  }
  parsePlivoContentType(options.contentType);
  const attrs: Array<[string, string]> = [
    ['bidirectional', 'true'],
    ['keepCallAlive', 'true'],
    ['contentType', options.contentType],
  ];
  if (options.streamTimeout !== undefined) attrs.push(['streamTimeout', String(Math.round(options.streamTimeout))]);
  if (options.extraHeaders && Object.keys(options.extraHeaders).length > 0) {
    attrs.push(['extraHeaders', formatStreamExtraHeaders(options.extraHeaders)]);
  }
  if (options.statusCallbackUrl) {
    attrs.push(['statusCallbackUrl', options.statusCallbackUrl]);
    attrs.push(['statusCallbackMethod', options.statusCallbackMethod ?? 'POST']);
  }
  const attrText = attrs.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Stream${attrText}>${escapeXml(options.streamUrl)}</Stream></Response>`;
}

/** Ends the call. Plivo only knows the reasons "rejected" and "busy"; without one it is a normal hangup. */
export function hangupXml(reason?: 'rejected' | 'busy'): string {
  const attr = reason ? ` reason="${reason}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup${attr}/></Response>`;
}

export interface DialXmlOptions {
  /** Sent to the transfer target as SIP headers (`k=v,k2=v2`). */
  sipHeaders?: Record<string, string>;
  callerId?: string;
}

/** A <Dial> to a phone number (digits, optional "+") or a SIP URI; used to transfer a live call. */
export function dialXml(target: string, options: DialXmlOptions = {}): string {
  const trimmed = target.trim();
  const isSip = /^sips?:/i.test(trimmed);
  if (!isSip && !/^\+?[0-9]{3,20}$/.test(trimmed)) {
    throw new Error(`Transfer target "${target}" is neither a phone number (digits, optional +) nor a sip: URI`);
  }
  const dialAttrs = options.callerId ? ` callerId="${escapeXml(options.callerId)}"` : '';
  const headers = options.sipHeaders && Object.keys(options.sipHeaders).length > 0 ? formatExtraHeaders(options.sipHeaders) : '';
  const headerAttr = headers ? ` sipHeaders="${escapeXml(headers)}"` : '';
  const inner = isSip
    ? `<User${headerAttr}>${escapeXml(trimmed)}</User>`
    : `<Number>${escapeXml(trimmed.replace(/^\+/, ''))}</Number>`;
  const outerHeaders = isSip ? '' : headerAttr;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Dial${dialAttrs}${outerHeaders}>${inner}</Dial></Response>`;
}
