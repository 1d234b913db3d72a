/**
 * The Plivo XML dialect of the document executor: Plivo's verbs, and how Plivo ends a call whose XML
 * could not be fetched ("Error Reaching Answer URL"), is invalid ("Invalid Answer XML") or runs out
 * ("End Of XML Instructions", 4010).
 */
import { DocumentExecutor, type DocumentDialect, type VerbContext as GenericVerbContext, type VerbResult as GenericVerbResult } from './document-executor.js';
import { HANGUP_CAUSES, type HangupCause, type HangupSource } from './hangup-causes.js';
import type { PlivoCall } from './plivo-call.js';
import { parsePlivoXml } from './plivo-xml.js';
import { execDial } from './verbs/dial.js';
import { execDtmf } from './verbs/dtmf.js';
import { execGetDigits, execGetInput } from './verbs/get-digits.js';
import { execHangup } from './verbs/hangup.js';
import { execPlay } from './verbs/play.js';
import { execPreAnswer } from './verbs/pre-answer.js';
import { execRedirect } from './verbs/redirect.js';
import { execSpeak } from './verbs/speak.js';
import { execStream } from './verbs/stream.js';
import { execWait } from './verbs/wait.js';

export { NEXT, resolveUrl } from './document-executor.js';

/** How a Plivo call ends: the cause reported on the hangup URL and who ended it. */
export interface PlivoEnding {
  cause: HangupCause;
  source: HangupSource;
}

export type VerbContext = GenericVerbContext<PlivoCall, PlivoEnding>;
export type VerbResult = GenericVerbResult<PlivoEnding>;

export const PLIVO_DIALECT: DocumentDialect<PlivoCall, PlivoEnding> = {
  verbs: {
    Speak: execSpeak,
    Play: execPlay,
    Wait: execWait,
    GetDigits: execGetDigits,
    GetInput: execGetInput,
    Redirect: execRedirect,
    Hangup: execHangup,
    Dial: execDial,
    Stream: execStream,
    DTMF: execDtmf,
    PreAnswer: execPreAnswer,
  },
  // Plivo can reject or redirect an inbound call before answering it.
  nonAnsweringVerbs: new Set(['Hangup', 'Redirect']),
  parse: parsePlivoXml,
  fetchFailed: () => ({ cause: HANGUP_CAUSES.answerUrlUnreachable, source: 'Error' }),
  invalidDocument: () => ({ cause: HANGUP_CAUSES.invalidAnswerXml, source: 'Error' }),
  outOfVerbs: () => ({ cause: HANGUP_CAUSES.endOfXml, source: 'Plivo' }),
};

export class XmlExecutor extends DocumentExecutor<PlivoCall, PlivoEnding> {
  constructor(call: PlivoCall, signal: AbortSignal) {
    super(call, PLIVO_DIALECT, signal);
  }
}
