/**
 * The TwiML dialect of the document executor: Twilio's verbs, <Reject> as the one verb that does not
 * answer an inbound call, and Twilio's endings: an application error (11200 when the TwiML could not
 * be fetched, 12100/12200 when it is not valid TwiML), or a hangup when the verbs run out.
 */
import type { DocumentDialect, VerbContext, VerbResult } from '../document-executor.js';
import { applicationErrorEnding, TWILIO_ENDINGS, type TwilioCallEnding } from './call-endings.js';
import type { TwilioCall } from './twilio-call.js';
import { parseTwiml } from './twiml.js';
import { execConnect } from './verbs/connect.js';
import { execDial } from './verbs/dial.js';
import { execGather } from './verbs/gather.js';
import { execHangup } from './verbs/hangup.js';
import { execPause } from './verbs/pause.js';
import { execPlay } from './verbs/play.js';
import { execRedirect } from './verbs/redirect.js';
import { execReject } from './verbs/reject.js';
import { execSay } from './verbs/say.js';
import { execStart } from './verbs/start.js';
import { execStop } from './verbs/stop.js';

export type TwimlContext = VerbContext<TwilioCall, TwilioCallEnding>;
export type TwimlResult = VerbResult<TwilioCallEnding>;

export const TWIML_DIALECT: DocumentDialect<TwilioCall, TwilioCallEnding> = {
  verbs: {
    Say: execSay,
    Play: execPlay,
    Pause: execPause,
    Gather: execGather,
    Dial: execDial,
    Hangup: execHangup,
    Reject: execReject,
    Redirect: execRedirect,
    Connect: execConnect,
    Start: execStart,
    Stop: execStop,
  },
  // "Using <Reject> as the first verb is the only way to prevent Twilio from answering a call."
  nonAnsweringVerbs: new Set(['Reject']),
  parse: parseTwiml,
  fetchFailed: (err) => applicationErrorEnding(11200, `HTTP retrieval failure: ${err.message}`),
  invalidDocument: (err, url) =>
    err.kind === 'syntax'
      ? applicationErrorEnding(12100, `Document parse failure (${url ?? 'inline Twiml'}): ${err.message}`)
      : applicationErrorEnding(12200, `Schema validation error (${url ?? 'inline Twiml'}): ${err.message}`),
  outOfVerbs: () => TWILIO_ENDINGS.endOfTwiml,
};
