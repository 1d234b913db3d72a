/** What Voxgate does to a live Plivo call beyond its audio: transfer and hang up, over the REST API. */
import type { Logger } from '../../logger.js';
import type { StreamCallControl } from '../websocket-media/websocket-leg.js';
import type { PlivoRestClient } from './rest-client.js';

export interface PlivoCallControlOptions {
  /** Without it (no credentials) the call can only be ended by closing its stream, and not transferred. */
  rest?: PlivoRestClient;
  callUuid: string;
  /** URL of XML that dials `target` (the routes serve one), for transfers to a number or SIP URI. */
  transferXmlUrl: (target: string, headers?: Record<string, string>) => string;
  logger: Logger;
}

export function plivoCallControl(opts: PlivoCallControlOptions): StreamCallControl {
  const { rest, callUuid } = opts;
  if (!rest) return {};
  return {
    async transfer(target, headers) {
      // An http(s) target is Plivo XML of the operator's own; anything else is dialed by our /dial XML.
      const alegUrl = /^https?:\/\//i.test(target) ? target : opts.transferXmlUrl(target, headers);
      await rest.transferCall(callUuid, { legs: 'aleg', alegUrl, alegMethod: 'POST' });
    },
    async hangup() {
      const wasLive = await rest.hangupCall(callUuid);
      if (!wasLive) opts.logger.info({ callUuid }, 'Plivo reports the call already ended');
    },
  };
}
