/** Forwards the bot's sendMetaData activities by HTTP POST, off the call path, to a URL resolved at call start. */
import type { Logger } from 'pino';
import type { CallInfo } from '../carriers/leg.js';
import { callAttributes } from './conversation-opening.js';
import { resolvePlaceholders } from '../runtime/placeholders.js';

const POST_TIMEOUT_MS = 5000;

export class MetadataForwarder {
  private readonly url: string | undefined;

  /** Throws PlaceholderError when the URL names a value the call does not have. */
  constructor(
    urlTemplate: string | undefined,
    private readonly info: CallInfo,
    private readonly log: Logger,
  ) {
    this.url = urlTemplate && resolvePlaceholders(urlTemplate, callAttributes(info), 'sendMetaDataUrl');
  }

  /** POSTs the metadata; `deliveredElsewhere` (sent in the call's signalling) silences the warning for a missing URL. */
  forward(metadata: unknown, deliveredElsewhere = false): void {
    const url = this.url;
    if (!url) {
      if (!deliveredElsewhere) this.log.warn('bot sent sendMetaData but no sendMetaDataUrl is configured (and the leg cannot carry it); dropped');
      return;
    }
    const body = JSON.stringify({ conversationId: this.info.callId, metadata });
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) }).then(
      (res) => {
        if (!res.ok) this.log.warn({ url, status: res.status }, 'sendMetaData endpoint refused the metadata');
      },
      (err: unknown) => this.log.warn({ err, url }, 'sendMetaData endpoint unreachable'),
    );
  }
}
