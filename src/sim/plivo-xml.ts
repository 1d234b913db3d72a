/**
 * The Plivo XML vocabulary: the elements Plivo accepts in a <Response> and what each may contain.
 * A document outside it hangs the call up with "Invalid Answer XML", as on Plivo.
 */
import { parseResponseDocument, SSML_TAGS, type XmlElement, type XmlVocabulary } from './xml-document.js';

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

/** Returns the verbs of a Plivo <Response> document in order, or throws XmlDocumentError naming the problem. */
export function parsePlivoXml(xml: string): XmlElement[] {
  return parseResponseDocument(xml, PLIVO_XML);
}
