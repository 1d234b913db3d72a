/**
 * Building a response to a request the way RFC 3261 8.2.6 requires, so no UAS code path can forget
 * a Via (the response would not route back), copy the wrong To, or leak a Record-Route into a response
 * that must not carry one.
 */
import { parseNameAddr } from './headers.js';
import { SipHeaders, type SipRequest, type SipResponse } from './sip-message.js';
import { SipParseError } from './sip-parse-error.js';

/** RFC 3261 21 and the IANA registry's later additions. */
export const REASON_PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  424: 'Bad Location Information',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  430: 'Flow Failed',
  433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info',
  437: 'Unsupported Certificate',
  438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  555: 'Push Notification Service Not Supported',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
  608: 'Rejected',
};

const CLASS_PHRASES = ['', 'Provisional', 'Success', 'Redirection', 'Client Error', 'Server Error', 'Global Failure'];

export interface BuildResponseOptions {
  /** Default: the standard phrase for the status. */
  reason?: string;
  /** Added to the To when the request's To has no tag (RFC 3261 8.2.6.2); a To that has one is copied unchanged. */
  toTag?: string;
  /** Copy the request's Record-Route fields in order: for 18x/2xx to a dialog-creating request (RFC 3261 12.1.1). */
  copyRecordRoute?: boolean;
  /** Extra fields, appended after the copied ones. */
  headers?: [string, string][];
  body?: Buffer;
  /** Content-Type of `body`. */
  contentType?: string;
}

function toWithTag(to: string, tag: string): string {
  try {
    if (parseNameAddr(to).params.has('tag')) return to;
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    // a To that does not parse came from a partial request: still answer, with the tag appended
  }
  return `${to};tag=${tag}`;
}

export function buildResponse(request: SipRequest, status: number, options: BuildResponseOptions = {}): SipResponse {
  if (!Number.isInteger(status) || status < 100 || status > 699) throw new TypeError(`invalid SIP status ${status}`);
  const source = request.headers;
  const headers = new SipHeaders();
  // Copied field by field, not element by element: a comma-joined Via line stays one line, in place.
  for (const [name, value] of source.entries()) {
    const lower = name.toLowerCase();
    if (lower === 'via' || (lower === 'record-route' && options.copyRecordRoute)) headers.append(name, value);
  }
  for (const name of ['From', 'To', 'Call-ID', 'CSeq']) {
    const value = source.get(name);
    if (value === undefined) continue;
    headers.append(name, name === 'To' && options.toTag !== undefined ? toWithTag(value, options.toTag) : value);
  }
  // RFC 3261 8.2.6.1: a 100 Trying echoes the request's Timestamp.
  const timestamp = source.get('Timestamp');
  if (status === 100 && timestamp !== undefined) headers.append('Timestamp', timestamp);
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  if (options.contentType !== undefined) headers.set('Content-Type', options.contentType);

  const reason = options.reason ?? REASON_PHRASES[status] ?? CLASS_PHRASES[Math.floor(status / 100)];
  return { kind: 'response', status, reason, headers, body: options.body ?? Buffer.alloc(0) };
}
