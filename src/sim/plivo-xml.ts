/**
 * The Plivo XML vocabulary: the elements Plivo accepts in a <Response> and what each may contain.
 * A document outside it hangs the call up with "Invalid Answer XML", as on Plivo.
 */
import { parseResponseDocument, SSML_TAGS, XmlDocumentError, type XmlElement, type XmlVocabulary } from './xml-document.js';

export const PLIVO_XML: XmlVocabulary = {
  elementKind: 'a Plivo XML element',
  verbs: new Set([
    'Speak', 'Play', 'GetDigits', 'GetInput', 'Record', 'Dial', 'Redirect', 'Wait', 'Hangup', 'PreAnswer',
    'Conference', 'DTMF', 'MultiPartyCall', 'Stream',
  ]),
  allowedChildren: {
    GetDigits: new Set(['Speak', 'Play', 'Wait']),
    GetInput: new Set(['Speak', 'Play', 'Wait']),
    Dial: new Set(['Number', 'User']),
    PreAnswer: new Set(['Speak', 'Play', 'Wait', 'GetDigits', 'GetInput']),
    Speak: SSML_TAGS,
  },
};

/**
 * Plivo's documented rule for <Stream extraHeaders>: `k=v` pairs whose keys and values hold only
 * [A-Z], [a-z], [0-9], at most 512 bytes. Written here independently of the gateway's own check, so a
 * gateway that breaks the rule fails its calls in tests the way it would on Plivo.
 */
export function streamExtraHeadersViolation(value: string): string | undefined {
  if (Buffer.byteLength(value) > 512) return `is ${Buffer.byteLength(value)} bytes; Plivo allows at most 512`;
  for (const pair of value.split(/[,;]/)) {
    const [key, val, ...rest] = pair.split('=');
    if (rest.length > 0 || val === undefined || !/^[A-Za-z0-9]+$/.test(key) || !/^[A-Za-z0-9]+$/.test(val)) {
      return `has ${JSON.stringify(pair)}; Plivo allows only key=value pairs of [A-Z], [a-z], [0-9]`;
    }
  }
  return undefined;
}

/** Returns the verbs of a Plivo <Response> document in order, or throws XmlDocumentError naming the problem. */
export function parsePlivoXml(xml: string): XmlElement[] {
  const verbs = parseResponseDocument(xml, PLIVO_XML);
  for (const verb of verbs) {
    const extraHeaders = verb.name === 'Stream' ? verb.attrs.extraHeaders : undefined;
    const violation = extraHeaders ? streamExtraHeadersViolation(extraHeaders) : undefined;
    if (violation) throw new XmlDocumentError(`<Stream extraHeaders="${extraHeaders}"> ${violation}`, 'schema');
  }
  return verbs;
}
