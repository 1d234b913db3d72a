/**
 * What Voxgate does to a live Twilio call beyond its audio, over the REST API: transfer (the call is
 * given new TwiML, which ends its <Connect><Stream>) and hang up. DTMF to the caller is not offered:
 * Media Streams carry none outbound, and the REST way (<Play digits> as new TwiML) would end the stream
 * and with it the conversation.
 */
import type { Logger } from '../../logger.js';
import type { StreamCallControl } from '../websocket-media/websocket-leg.js';
import type { TwilioRestClient } from './rest-client.js';
import { dialTwiml } from './twiml.js';

export interface TwilioCallControlOptions {
  /** Without it (no credentials) the call can only be ended by closing its stream, and not transferred. */
  rest?: TwilioRestClient;
  callSid: string;
  logger: Logger;
}

export function twilioCallControl(opts: TwilioCallControlOptions): StreamCallControl {
  const { rest, callSid, logger } = opts;
  if (!rest) return {};
  return {
    async transfer(target, headers = {}) {
      // An http(s) target is TwiML of the operator's own; anything else is dialed.
      if (/^https?:\/\//i.test(target)) {
        await rest.updateCall(callSid, { url: target, method: 'POST' });
        return;
      }
      const { twiml, droppedHeaders } = dialTwiml(target, headers);
      if (droppedHeaders.length > 0) logger.warn({ callSid, target, droppedHeaders }, 'Twilio sends SIP headers only to sip: targets; not sent to this number');
      await rest.updateCall(callSid, { twiml });
    },
    async hangup() {
      const wasLive = await rest.hangupCall(callSid);
      if (!wasLive) logger.info({ callSid }, 'Twilio reports the call already ended');
    },
  };
}
