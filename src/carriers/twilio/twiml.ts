/** The TwiML Voxgate answers and redirects Twilio calls with (docs/protocols/twilio.md). */
import { escapeXml } from '../../runtime/xml-escape.js';

const DOCUMENT = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * A bidirectional Media Stream for the rest of the call: the TwiML after <Connect> runs only once the
 * socket closes, and there is none, so closing the stream ends the call. The stream URL takes no query
 * string, so values ride as <Parameter>s and come back in the `start` message's customParameters.
 */
export function connectStreamTwiml(streamUrl: string, parameters: Record<string, string>): string {
  if (!/^wss?:\/\//i.test(streamUrl)) throw new Error(`Twilio stream URL "${streamUrl}" must start with wss:// or ws://`);
  if (streamUrl.includes('?')) throw new Error(`Twilio stream URL "${streamUrl}" must not have a query string (Twilio drops it); pass values as parameters`);
  const params = Object.entries(parameters)
    .map(([name, value]) => `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`)
    .join('');
  return `${DOCUMENT}<Response><Connect><Stream url="${escapeXml(streamUrl)}">${params}</Stream></Connect></Response>`;
}

export function hangupTwiml(): string {
  return `${DOCUMENT}<Response><Hangup/></Response>`;
}

/**
 * A <Dial> to a phone number or a SIP URI, for a transfer. Twilio carries custom SIP headers only to
 * <Sip> targets, as the URI's query parameters; for a number they cannot be sent.
 */
export function dialTwiml(target: string, sipHeaders: Record<string, string> = {}): { twiml: string; droppedHeaders: string[] } {
  const trimmed = target.trim();
  if (/^sips?:/i.test(trimmed)) {
    const query = new URLSearchParams(sipHeaders).toString();
    const uri = query ? `${trimmed}${trimmed.includes('?') ? '&' : '?'}${query}` : trimmed;
    return { twiml: `${DOCUMENT}<Response><Dial><Sip>${escapeXml(uri)}</Sip></Dial></Response>`, droppedHeaders: [] };
  }
  const number = trimmed.replace(/^tel:/i, '');
  if (!/^\+?[0-9]{3,20}$/.test(number)) throw new Error(`Transfer target "${target}" is neither a phone number (digits, optional +) nor a sip: URI`);
  return { twiml: `${DOCUMENT}<Response><Dial><Number>${escapeXml(number)}</Number></Dial></Response>`, droppedHeaders: Object.keys(sipHeaders) };
}
