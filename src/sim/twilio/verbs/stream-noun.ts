/**
 * The <Stream url name track> noun of <Connect> and <Start>, with its <Parameter name value> children
 * (they arrive in `start.customParameters`). Twilio streams to wss:// only; the simulator also allows
 * ws:// to a loopback host, for tests. Twilio does not pass a query string on to the stream: values
 * belong in <Parameter>s, so a query is dropped, with a warning.
 */
import type { StreamTrack } from '../../carrier-stream-client.js';
import { enumAttr, VerbAttributeError } from '../../verb-attributes.js';
import { elementChildren, type XmlElement } from '../../xml-document.js';
import { TwilioMediaStreamClient, type TwilioStreamOptions } from '../media-stream-client.js';
import type { TwimlContext } from '../twiml-dialect.js';

const TRACKS: Record<'inbound_track' | 'outbound_track' | 'both_tracks', StreamTrack[]> = {
  inbound_track: ['inbound'],
  outbound_track: ['outbound'],
  both_tracks: ['inbound', 'outbound'],
};
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export function readStreamNoun(ctx: TwimlContext, el: XmlElement, bidirectional: boolean): TwilioStreamOptions {
  const raw = el.attrs.url;
  if (!raw) throw new VerbAttributeError('<Stream> needs a url attribute (wss://...)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VerbAttributeError(`<Stream url="${raw}">: expected an absolute wss:// URL`);
  }
  if (url.protocol !== 'wss:' && !(url.protocol === 'ws:' && LOOPBACK.has(url.hostname))) {
    throw new VerbAttributeError(`<Stream url="${raw}">: Twilio streams to wss:// URLs only (ws:// is allowed to a loopback host in the simulator)`);
  }
  if (url.search) {
    ctx.call.warn(`<Stream url="${raw}">: Twilio does not pass query strings to the stream; send values as <Parameter>s`);
    url.search = '';
  }
  const track = enumAttr(el, 'track', ['inbound_track', 'outbound_track', 'both_tracks'], 'inbound_track');
  if (bidirectional && track !== 'inbound_track') throw new VerbAttributeError(`<Connect><Stream track="${track}">: a bidirectional stream carries the inbound track only`);
  if (el.attrs.statusCallback) ctx.call.warn('<Stream statusCallback> callbacks are not simulated');
  const customParameters: Record<string, string> = {};
  for (const parameter of elementChildren(el)) {
    const { name, value } = parameter.attrs;
    if (!name) throw new VerbAttributeError('<Parameter> needs a name attribute');
    customParameters[name] = value ?? '';
  }
  return { url: url.toString(), bidirectional, tracks: TRACKS[track], customParameters, name: el.attrs.name };
}

/** Connects the stream; resolves with the client once open, or undefined when the connection failed (already logged). */
export async function openTwilioStream(ctx: TwimlContext, options: TwilioStreamOptions): Promise<TwilioMediaStreamClient | undefined> {
  const { call } = ctx;
  const client = new TwilioMediaStreamClient(call, options);
  call.streams.add(client);
  void client.closed.then(() => call.streams.delete(client));
  const opened = await client.open();
  // The call may have ended while the socket was connecting: nothing closes the stream after that.
  if (opened && call.isEnded) client.close('call ended');
  return opened ? client : undefined;
}
