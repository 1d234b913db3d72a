/**
 * <Stream>: opens the audio WebSocket. With keepCallAlive="true" nothing else runs until the socket
 * closes, then the next element runs; otherwise the XML continues at once while the stream runs.
 */
import { NEXT, type VerbContext, type VerbResult } from '../xml-executor.js';
import { textContent, type XmlElement } from '../xml-document.js';
import { DEFAULT_STREAM_CONTENT_TYPE, parseStreamContentType, PlivoStreamClient } from '../stream-client.js';
import { boolAttr, numberAttr, VerbAttributeError } from '../verb-attributes.js';

export async function execStream(ctx: VerbContext, el: XmlElement): Promise<VerbResult> {
  const { call, signal } = ctx;
  const url = textContent(el);
  if (!/^wss?:\/\//i.test(url)) throw new VerbAttributeError(`<Stream> URL must be ws:// or wss://, got ${JSON.stringify(url)}`);
  const bidirectional = boolAttr(el, 'bidirectional', false);
  const audioTrack = (el.attrs.audioTrack ?? 'inbound') as 'inbound' | 'outbound' | 'both';
  if (!['inbound', 'outbound', 'both'].includes(audioTrack)) throw new VerbAttributeError(`<Stream audioTrack="${audioTrack}">: expected inbound, outbound or both`);
  if (bidirectional && audioTrack !== 'inbound') throw new VerbAttributeError('<Stream bidirectional="true"> only supports audioTrack="inbound"');
  let contentType = el.attrs.contentType;
  if (!contentType) {
    call.warn(`<Stream> without contentType: Plivo's documents disagree on the default; assuming ${DEFAULT_STREAM_CONTENT_TYPE}`);
    contentType = DEFAULT_STREAM_CONTENT_TYPE;
  }
  const format = parseStreamContentType(contentType);
  if (el.attrs.statusCallbackUrl) call.warn('<Stream statusCallbackUrl> callbacks are not simulated');
  const client = new PlivoStreamClient(call, {
    url,
    format,
    contentType,
    bidirectional,
    audioTrack,
    extraHeaders: el.attrs.extraHeaders,
    streamTimeoutSec: numberAttr(el, 'streamTimeout', 86_400, 1),
  });
  call.streams.add(client);
  void client.closed.then(() => call.streams.delete(client));
  if (signal.aborted) return NEXT;
  const opened = await client.open();
  if (!opened || !boolAttr(el, 'keepCallAlive', false)) return NEXT;
  await Promise.race([client.closed, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
  return NEXT;
}
