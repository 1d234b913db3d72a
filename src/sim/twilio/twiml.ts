/**
 * The TwiML (Voice) vocabulary: the verbs Twilio accepts in a <Response> and the nouns each may contain.
 * A document outside it is an application error on Twilio (12100 when it is not well-formed XML, 12200
 * when it breaks the schema): the caller hears "an application error has occurred" and the call ends.
 */
import { parseResponseDocument, SSML_TAGS, type XmlElement, type XmlVocabulary } from '../xml-document.js';

const PARAMETER = new Set(['Parameter']);

export const TWIML: XmlVocabulary = {
  elementKind: 'a TwiML verb',
  verbs: new Set([
    'Say', 'Play', 'Pause', 'Gather', 'Dial', 'Hangup', 'Reject', 'Redirect', 'Connect', 'Start', 'Stop',
    'Record', 'Enqueue', 'Leave', 'Refer', 'Pay', 'Prompt', 'Echo',
  ]),
  allowedChildren: {
    Say: new Set([...SSML_TAGS, 'amazon:domain', 'amazon:effect']),
    Gather: new Set(['Say', 'Play', 'Pause']),
    Dial: new Set(['Number', 'Sip', 'Client', 'Conference', 'Queue', 'Sim', 'Application', 'WhatsApp']),
    Client: new Set(['Identity', 'Parameter']),
    Application: new Set(['ApplicationSid', 'Parameter']),
    Connect: new Set(['Stream', 'Room', 'Conversation', 'VirtualAgent', 'Autopilot', 'ConversationRelay', 'Assistant', 'AiSession']),
    Start: new Set(['Stream', 'Siprec', 'Transcription', 'Recording']),
    Stop: new Set(['Stream', 'Siprec', 'Transcription', 'Recording']),
    Stream: PARAMETER,
    Siprec: PARAMETER,
    Transcription: PARAMETER,
    VirtualAgent: new Set(['Config', 'Parameter']),
    ConversationRelay: new Set(['Language', 'Parameter']),
    Refer: new Set(['Sip']),
    Pay: new Set(['Prompt', 'Parameter']),
    Prompt: new Set(['Say', 'Play', 'Pause']),
  },
};

/** Returns the verbs of a TwiML <Response> in order, or throws XmlDocumentError naming the problem. */
export function parseTwiml(xml: string): XmlElement[] {
  return parseResponseDocument(xml, TWIML);
}
