/**
 * SDP offer/answer (RFC 3264) for the SIP carrier: which audio stream, codec, telephone-event payload
 * type, remote RTP address and direction a call uses, and the SDP Voxgate sends for it. Pure
 * negotiation on top of sdp-transform: no sockets, no SIP. The signalling side calls answerOffer for
 * an INVITE with SDP (200 OK body, or 488/400 from SdpNegotiationError.status), createOffer and
 * acceptAnswer when Voxgate places the call or re-INVITEs (hold), and LocalSdpSession to keep one o=
 * line per dialog. The RTP side reads NegotiatedMedia.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { write, type MediaDescription } from 'sdp-transform';
import {
  CODEC_NAMES,
  SDP_CODECS,
  answerEvents,
  describeFormat,
  isCodecName,
  isTelephoneEvent,
  matchCodec,
  type CodecName,
  type SdpFormat,
} from './sdp-codecs.js';
import { SdpNegotiationError, readSdp, type MediaDirection, type ReadSdp, type SdpConnection, type SdpStream } from './sdp-read.js';

export { SdpNegotiationError };
export type { CodecName, MediaDirection };
export { CODEC_NAMES, SDP_CODECS, type SdpCodec } from './sdp-codecs.js';

export interface NegotiatedMedia {
  codec: CodecName;
  /** The chosen codec's payload type in the offer: what both sides use unless sendPayloadType says otherwise. */
  payloadType: number;
  /** The offer's telephone-event payload type, when both sides do RFC 4733. */
  telephoneEventPayloadType?: number;
  /**
   * Where to send RTP: c= (media level over session level) and the m= port. rtcpPort is a=rtcp if
   * present, else port + 1. rtcpMux is set when the peer's SDP carries a=rtcp-mux: Voxgate neither
   * offers nor accepts it, so RTCP still goes to rtcpPort.
   */
  remote: { address: string; port: number; rtcpPort?: number; rtcpMux?: boolean };
  /** The peer's a=ptime (20 when absent): Voxgate sends 20 ms packets and notes a different wish. */
  ptime: number;
  /** OUR direction: whether we send and/or receive RTP (peer sendonly -> recvonly, inactive -> inactive, recvonly -> sendonly). */
  direction: MediaDirection;
  /** The peer holds the call: it said sendonly or inactive, or c=0.0.0.0 (RFC 2543 hold). */
  onHold: boolean;
  /**
   * UAC side only, and only when the answer numbered the codec differently from our offer (RFC 3264
   * 6.1 says it SHOULD NOT): RTP we send carries this payload type, RTP we receive carries payloadType.
   */
  sendPayloadType?: number;
  /** As sendPayloadType, for telephone-event. */
  sendTelephoneEventPayloadType?: number;
  /** What negotiation ignored, declined or could not honour, worded for a log line. */
  notes?: string[];
}

export interface LocalMediaEndpoint {
  /** The IP literal we advertise in o= and c= (the external address behind NAT); its family picks IN IP4 or IN IP6. */
  address: string;
  /** Our RTP port (RTCP on port + 1). */
  port: number;
  /** Numeric string, the same for the whole dialog. */
  sessionId: string;
  /** Bumped whenever the SDP we send changes (RFC 3264 8); LocalSdpSession does that. */
  sessionVersion: number;
}

export interface AnswerPreferences {
  /** The codecs we accept. The choice follows the OFFER's order (the peer's preference): the first offered format in this list. */
  codecs: CodecName[];
  /** What we want (default sendrecv), intersected with what the peer allows: e.g. keep our own hold across a peer's re-INVITE. */
  direction?: MediaDirection;
}

export interface OfferPreferences {
  /** The codecs we offer, most preferred first. */
  codecs: CodecName[];
  /** A dynamic payload type, 96-127; default 101. */
  telephoneEventPayloadType?: number;
  /** Default sendrecv; sendonly or inactive puts the peer on hold. */
  direction?: MediaDirection;
}

/** Answers the packet time we always send. */
const OUR_PTIME = 20;
const DEFAULT_TELEPHONE_EVENT_PT = 101;
/** All the events we offer: DTMF 0-15 and flash 16. */
const OFFERED_EVENTS = '0-16';

/**
 * The answer to a peer's offer (UAS: the 200 OK to an INVITE, or to a re-INVITE). Accepts the first
 * usable audio stream with the first offered codec in `preferences.codecs`, declines every other
 * stream with port 0 in its place. Throws SdpNegotiationError: 400 when the offer does not parse, 488
 * when it has no plain-RTP audio stream with a codec in common.
 */
export function answerOffer(
  offerSdp: string,
  local: LocalMediaEndpoint,
  preferences: AnswerPreferences,
): { answerSdp: string; media: NegotiatedMedia } {
  checkEndpoint(local);
  const { media, descriptions } = negotiateAnswer(readSdp(offerSdp, 'offer'), local.port, preferences);
  return { answerSdp: writeSdp(local, descriptions), media };
}

/** An offer with one audio stream (UAC: our INVITE, or a re-INVITE we originate, e.g. to hold). */
export function createOffer(local: LocalMediaEndpoint, preferences: OfferPreferences): string {
  checkEndpoint(local);
  return writeSdp(local, [offerAudio(local.port, 'RTP/AVP', preferences)]);
}

/**
 * What our offer and the peer's answer agreed on (UAC side). The answer must keep the offer's m=
 * lines (else 400) and pick a codec we offered (else 488, as for a declined audio stream); the
 * signalling side then ends the call, since a 2xx cannot be refused.
 */
export function acceptAnswer(offerSdp: string, answerSdp: string): NegotiatedMedia {
  return agree(readSdp(offerSdp, 'offer'), readSdp(answerSdp, 'answer'));
}

/**
 * Our side of one dialog's SDP: one session id, the version bumped whenever the SDP we send differs
 * from the last one (RFC 3264 8) and kept for a repeat, and the m= lines of the last exchange so a
 * later offer keeps their number and order (RFC 3264 8: streams are never removed, only declined).
 */
export class LocalSdpSession {
  readonly sessionId: string;
  readonly address: string;
  readonly port: number;
  private version = 1;
  /** The last SDP we produced, without its o= line. */
  private lastBody?: string;
  private layout?: { slots: MLineSlot[]; audioIndex: number };
  private lastOffer?: string;
  private current?: NegotiatedMedia;

  constructor(address: string, port: number) {
    this.sessionId = String(randomInt(1, 2 ** 47));
    checkEndpoint({ address, port, sessionId: this.sessionId, sessionVersion: 0 });
    this.address = address;
    this.port = port;
  }

  /** The o= version of the last SDP produced (the one the next SDP gets if nothing changes). */
  get sessionVersion(): number {
    return this.version;
  }

  /** What the last completed exchange negotiated. */
  get media(): NegotiatedMedia | undefined {
    return this.current;
  }

  /** Answers the peer's (re-)offer. On SdpNegotiationError nothing changes: the session stays as it was (RFC 3264 8). */
  answer(offerSdp: string, preferences: AnswerPreferences): { answerSdp: string; media: NegotiatedMedia } {
    const offer = readSdp(offerSdp, 'offer');
    const { media, descriptions, audioIndex } = negotiateAnswer(offer, this.port, preferences);
    const answerSdp = this.stamp(descriptions);
    this.layout = { slots: offer.streams.map(slotOf), audioIndex };
    this.lastOffer = undefined;
    this.current = media;
    return { answerSdp, media };
  }

  /**
   * Our (re-)offer. A re-offer keeps the dialog's m= lines (the other ones declined), the audio
   * stream's transport, the telephone-event payload type in use and puts the codec in use first, so
   * hold and resume do not switch codecs.
   */
  offer(preferences: OfferPreferences): string {
    checkCodecs(preferences.codecs);
    const current = this.current;
    const codecs = current && preferences.codecs.includes(current.codec)
      ? [current.codec, ...preferences.codecs.filter((c) => c !== current.codec)]
      : preferences.codecs;
    const inUseTe = current?.telephoneEventPayloadType;
    const telephoneEventPayloadType =
      preferences.telephoneEventPayloadType ?? (inUseTe !== undefined && isDynamic(inUseTe) ? inUseTe : undefined);
    const wanted = { ...preferences, codecs, telephoneEventPayloadType };

    const layout = this.layout ?? { slots: [{ type: 'audio', protocol: 'RTP/AVP', formatList: '' }], audioIndex: 0 };
    const descriptions = layout.slots.map((slot, i) =>
      i === layout.audioIndex ? offerAudio(this.port, slot.protocol, wanted) : declined(slot),
    );
    const offerSdp = this.stamp(descriptions);
    this.layout = layout;
    this.lastOffer = offerSdp;
    return offerSdp;
  }

  /** The peer's answer to our last offer. Throws SdpNegotiationError as acceptAnswer does. */
  acceptAnswer(answerSdp: string): NegotiatedMedia {
    if (this.lastOffer === undefined) throw new Error('LocalSdpSession.acceptAnswer: no offer of ours is waiting for an answer');
    const media = acceptAnswer(this.lastOffer, answerSdp);
    this.current = media;
    return media;
  }

  private stamp(descriptions: MediaDescription[]): string {
    const sdpAt = (sessionVersion: number): string =>
      writeSdp({ address: this.address, port: this.port, sessionId: this.sessionId, sessionVersion }, descriptions);
    let sdp = sdpAt(this.version);
    if (this.lastBody !== undefined && withoutOrigin(sdp) !== this.lastBody) {
      this.version += 1;
      sdp = sdpAt(this.version);
    }
    this.lastBody = withoutOrigin(sdp);
    return sdp;
  }
}

// ---------------------------------------------------------------------------------------------
// Answering

interface AcceptedStream {
  stream: SdpStream;
  codec: CodecName;
  format: SdpFormat;
  telephoneEvent?: { payloadType: number; events: string };
  notes: string[];
}

interface MLineSlot {
  type: string;
  protocol: string;
  formatList: string;
}

function negotiateAnswer(
  offer: ReadSdp,
  port: number,
  preferences: AnswerPreferences,
): { media: NegotiatedMedia; descriptions: MediaDescription[]; audioIndex: number } {
  checkCodecs(preferences.codecs);
  const accepted = chooseStream(offer, preferences.codecs);
  const { stream } = accepted;
  const connection = stream.connection!; // readSdp guarantees one for an RTP stream with a port
  const noAddress = isNoAddress(connection);
  const direction = ourDirection(stream.direction, preferences.direction ?? 'sendrecv', noAddress);

  const notes = [...offer.notes, ...accepted.notes, ...peerNotes(stream)];
  if (stream.hasCrypto) notes.push(`ignored a=crypto on ${stream.protocol}: the answer is plain RTP`);
  for (const other of offer.streams) {
    if (other !== stream && other.port !== 0) notes.push(`declined m=${other.type} ${other.protocol} (stream ${other.index + 1})`);
  }

  const media: NegotiatedMedia = {
    codec: accepted.codec,
    payloadType: accepted.format.payloadType,
    ...(accepted.telephoneEvent ? { telephoneEventPayloadType: accepted.telephoneEvent.payloadType } : {}),
    remote: remoteOf(stream, connection),
    ptime: stream.ptime ?? OUR_PTIME,
    direction,
    onHold: isHolding(stream.direction, noAddress),
    notes,
  };
  const audio = audioDescription(port, stream.protocol, accepted.codec, accepted.format.payloadType, direction, accepted.telephoneEvent);
  const descriptions = offer.streams.map((s) => (s === stream ? audio : declined(slotOf(s))));
  return { media, descriptions, audioIndex: stream.index };
}

/** The first audio stream we can take; else a 488 saying why each audio stream was not usable. */
function chooseStream(offer: ReadSdp, codecs: readonly CodecName[]): AcceptedStream {
  if (offer.streams.length === 0) throw new SdpNegotiationError(488, 'the offer has no media stream (no m= line)');
  const audio = offer.streams.filter((s) => s.type === 'audio' && s.port !== 0);
  if (audio.length === 0) {
    const offered = offer.streams.map((s) => `m=${s.type}${s.port === 0 ? ' (port 0)' : ''}`).join(', ');
    throw new SdpNegotiationError(488, `no audio stream in the offer: it has ${offered}`);
  }
  const reasons: string[] = [];
  for (const stream of audio) {
    const result = acceptStream(stream, codecs);
    if (typeof result !== 'string') return result;
    reasons.push(audio.length > 1 ? `audio stream ${stream.index + 1}: ${result}` : result);
  }
  throw new SdpNegotiationError(488, reasons.join('; '));
}

/** The stream accepted, or why not. */
function acceptStream(stream: SdpStream, codecs: readonly CodecName[]): AcceptedStream | string {
  if (/SAVP/i.test(stream.protocol)) return `SRTP is not supported: the audio stream is ${stream.protocol} and Voxgate does plain RTP/AVP`;
  if (!isPlainRtp(stream.protocol)) return `transport ${stream.protocol} is not supported: Voxgate does RTP/AVP over UDP`;
  if (stream.connection?.multicast) return `multicast address ${stream.connection.address} is not supported`;

  for (const format of stream.formats) {
    const match = matchCodec(format, codecs);
    if (!match) continue;
    const notes = match.note ? [match.note] : [];
    const offeredTe = stream.formats.find(isTelephoneEvent);
    const events = offeredTe && answerEvents(offeredTe.fmtp);
    if (!offeredTe) notes.push('peer offered no telephone-event/8000: DTMF can only arrive in-band or by SIP INFO');
    else if (!events) notes.push(`peer's telephone-event (PT ${offeredTe.payloadType}) lists none of the DTMF events; not accepted`);
    return {
      stream,
      codec: match.codec,
      format,
      ...(offeredTe && events ? { telephoneEvent: { payloadType: offeredTe.payloadType, events } } : {}),
      notes,
    };
  }
  const offered = stream.formats.map(describeFormat).join(', ');
  return `no codec in common: offered ${offered}; Voxgate supports ${codecs.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Our offer and the peer's answer

function agree(offer: ReadSdp, answer: ReadSdp): NegotiatedMedia {
  if (answer.streams.length !== offer.streams.length) {
    throw new SdpNegotiationError(
      400,
      `malformed SDP answer: it has ${answer.streams.length} m= line(s) for the offer's ${offer.streams.length} (RFC 3264 6: one per offered stream, in order)`,
    );
  }
  const reasons: string[] = [];
  for (const offered of offer.streams) {
    if (offered.type !== 'audio' || offered.port === 0 || !isPlainRtp(offered.protocol)) continue;
    const answered = answer.streams[offered.index];
    if (answered.type !== offered.type) {
      throw new SdpNegotiationError(400, `malformed SDP answer: m= line ${offered.index + 1} is ${answered.type} for an offered ${offered.type}`);
    }
    if (answered.port === 0) {
      reasons.push('the answer declined the audio stream (port 0)');
      continue;
    }
    if (answered.protocol.toUpperCase() !== offered.protocol.toUpperCase()) {
      reasons.push(`the answer changed the audio transport from ${offered.protocol} to ${answered.protocol}`);
      continue;
    }
    const result = agreeStream(offered, answered);
    if (typeof result === 'string') {
      reasons.push(result);
      continue;
    }
    return result;
  }
  if (reasons.length === 0) throw new SdpNegotiationError(488, 'the offer has no plain RTP audio stream to answer');
  throw new SdpNegotiationError(488, reasons.join('; '));
}

function agreeStream(offered: SdpStream, answered: SdpStream): NegotiatedMedia | string {
  // An answer may leave a format without rtpmap; it then means what the offer said for that number.
  const resolve = (f: SdpFormat): SdpFormat =>
    f.encodingName !== undefined ? f : (offered.formats.find((o) => o.payloadType === f.payloadType) ?? f);
  const offeredCodec = (f: SdpFormat): CodecName | undefined => matchCodec(f, CODEC_NAMES)?.codec;

  let chosen: { codec: CodecName; payloadType: number; sendPayloadType?: number; note?: string } | undefined;
  for (const raw of answered.formats) {
    const format = resolve(raw);
    const match = matchCodec(format, CODEC_NAMES);
    if (!match) continue;
    const samePt = offered.formats.find((o) => o.payloadType === raw.payloadType);
    if (samePt && offeredCodec(samePt) === match.codec) {
      chosen = { codec: match.codec, payloadType: raw.payloadType, note: match.note };
      break;
    }
    const renumbered = offered.formats.find((o) => offeredCodec(o) === match.codec);
    if (renumbered) {
      chosen = { codec: match.codec, payloadType: renumbered.payloadType, sendPayloadType: raw.payloadType, note: match.note };
      break;
    }
  }
  if (!chosen) {
    const picked = answered.formats.map((f) => describeFormat(resolve(f))).join(', ');
    const ours = offered.formats.map(describeFormat).join(', ');
    return `the answer picked ${picked}, none of which the offer had (${ours})`;
  }

  const connection = answered.connection!; // readSdp guarantees one for an RTP stream with a port
  const noAddress = isNoAddress(connection);
  const notes = [...(chosen.note ? [chosen.note] : []), ...peerNotes(answered)];
  if (chosen.sendPayloadType !== undefined) {
    notes.push(`the answer numbers ${chosen.codec} ${chosen.sendPayloadType}, the offer ${chosen.payloadType}: we send ${chosen.sendPayloadType}`);
  }

  const offeredTe = offered.formats.find(isTelephoneEvent);
  const answeredTe = answered.formats.map(resolve).find(isTelephoneEvent);
  const telephoneEvent =
    offeredTe && answeredTe
      ? {
          telephoneEventPayloadType: offeredTe.payloadType,
          ...(answeredTe.payloadType !== offeredTe.payloadType ? { sendTelephoneEventPayloadType: answeredTe.payloadType } : {}),
        }
      : {};
  if (offeredTe && !answeredTe) notes.push('the answer has no telephone-event: DTMF can only go in-band or by SIP INFO');

  return {
    codec: chosen.codec,
    payloadType: chosen.payloadType,
    ...telephoneEvent,
    remote: remoteOf(answered, connection),
    ptime: answered.ptime ?? OUR_PTIME,
    direction: ourDirection(answered.direction, offered.direction, noAddress),
    onHold: isHolding(answered.direction, noAddress),
    ...(chosen.sendPayloadType !== undefined ? { sendPayloadType: chosen.sendPayloadType } : {}),
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

function isPlainRtp(protocol: string): boolean {
  // AVPF is AVP plus feedback messages we never send; answering it in kind is safe (RFC 4585 5).
  return /^RTP\/AVPF?$/i.test(protocol);
}

/** c=0.0.0.0 (or IPv6 ::): RFC 3264 8.4 says send neither RTP nor RTCP there. */
function isNoAddress(connection: SdpConnection): boolean {
  return connection.ipVersion === 4 ? connection.address === '0.0.0.0' : /^[0:]+$/.test(connection.address);
}

function isHolding(peerDirection: MediaDirection, noAddress: boolean): boolean {
  return peerDirection === 'sendonly' || peerDirection === 'inactive' || noAddress;
}

/** What we do: what we want, where the peer receives for us to send and sends for us to receive. */
function ourDirection(peer: MediaDirection, wanted: MediaDirection, peerHasNoAddress: boolean): MediaDirection {
  const peerSends = peer === 'sendrecv' || peer === 'sendonly';
  const peerReceives = (peer === 'sendrecv' || peer === 'recvonly') && !peerHasNoAddress;
  const send = (wanted === 'sendrecv' || wanted === 'sendonly') && peerReceives;
  const receive = (wanted === 'sendrecv' || wanted === 'recvonly') && peerSends;
  return send ? (receive ? 'sendrecv' : 'sendonly') : receive ? 'recvonly' : 'inactive';
}

function remoteOf(stream: SdpStream, connection: SdpConnection): NegotiatedMedia['remote'] {
  const rtcpPort = stream.rtcpPort ?? (stream.port < 65535 ? stream.port + 1 : undefined);
  return {
    address: connection.address,
    port: stream.port,
    ...(rtcpPort !== undefined ? { rtcpPort } : {}),
    ...(stream.rtcpMux ? { rtcpMux: true } : {}),
  };
}

/** What the peer asked of the stream that we do not do, for the log. */
function peerNotes(stream: SdpStream): string[] {
  const notes: string[] = [];
  if (stream.ptime !== undefined && stream.ptime !== OUR_PTIME) {
    notes.push(`peer asked for a=ptime:${stream.ptime}; Voxgate sends ${OUR_PTIME} ms packets`);
  }
  if (stream.maxptime !== undefined && stream.maxptime < OUR_PTIME) {
    notes.push(`peer's a=maxptime:${stream.maxptime} is below the ${OUR_PTIME} ms Voxgate sends`);
  }
  if (stream.rtcpMux) notes.push(`peer can take RTCP on its RTP port (a=rtcp-mux); not negotiated, RTCP stays on port ${stream.rtcpPort ?? stream.port + 1}`);
  if (stream.connection && isNoAddress(stream.connection)) {
    notes.push(`peer's connection address is ${stream.connection.address} (RFC 2543 hold): nothing is sent to it`);
  }
  return notes;
}

function slotOf(stream: SdpStream): MLineSlot {
  return { type: stream.type, protocol: stream.protocol, formatList: stream.formatList };
}

/** A refused or disabled stream: port 0, its transport and formats kept (RFC 3264 6, 8.2). */
function declined(slot: MLineSlot): MediaDescription {
  return { type: slot.type, port: 0, protocol: slot.protocol, payloads: slot.formatList || '0', rtp: [], fmtp: [] };
}

function audioDescription(
  port: number,
  protocol: string,
  codec: CodecName,
  payloadType: number,
  direction: MediaDirection,
  telephoneEvent?: { payloadType: number; events: string },
): MediaDescription {
  const { encodingName, clockRate } = SDP_CODECS[codec];
  const rtp: MediaDescription['rtp'] = [{ payload: payloadType, codec: encodingName, rate: clockRate }];
  const fmtp: MediaDescription['fmtp'] = [];
  const payloads = [payloadType];
  if (telephoneEvent) {
    payloads.push(telephoneEvent.payloadType);
    rtp.push({ payload: telephoneEvent.payloadType, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: telephoneEvent.payloadType, config: telephoneEvent.events });
  }
  return { type: 'audio', port, protocol, payloads: payloads.join(' '), rtp, fmtp, ptime: OUR_PTIME, direction };
}

function offerAudio(port: number, protocol: string, preferences: OfferPreferences): MediaDescription {
  checkCodecs(preferences.codecs);
  const telephoneEventPayloadType = preferences.telephoneEventPayloadType ?? DEFAULT_TELEPHONE_EVENT_PT;
  if (!isDynamic(telephoneEventPayloadType)) {
    throw new RangeError(`telephoneEventPayloadType must be a dynamic payload type (96-127), got ${telephoneEventPayloadType}`);
  }
  const codecs = [...new Set(preferences.codecs)];
  const rtp: MediaDescription['rtp'] = codecs.map((c) => ({ payload: SDP_CODECS[c].payloadType, codec: SDP_CODECS[c].encodingName, rate: SDP_CODECS[c].clockRate }));
  rtp.push({ payload: telephoneEventPayloadType, codec: 'telephone-event', rate: 8000 });
  return {
    type: 'audio',
    port,
    protocol,
    payloads: rtp.map((r) => r.payload).join(' '),
    rtp,
    fmtp: [{ payload: telephoneEventPayloadType, config: OFFERED_EVENTS }],
    ptime: OUR_PTIME,
    direction: preferences.direction ?? 'sendrecv',
  };
}

function writeSdp(local: LocalMediaEndpoint, media: MediaDescription[]): string {
  const ipVer = isIP(local.address) === 6 ? 6 : 4;
  return write({
    version: 0,
    origin: { username: '-', sessionId: local.sessionId, sessionVersion: local.sessionVersion, netType: 'IN', ipVer, address: local.address },
    name: '-',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  });
}

function withoutOrigin(sdp: string): string {
  return sdp.replace(/^o=.*$/m, '');
}

function isDynamic(payloadType: number): boolean {
  return Number.isInteger(payloadType) && payloadType >= 96 && payloadType <= 127;
}

/** Our own configuration errors are programming errors, not a peer's fault: plain TypeError/RangeError. */
function checkEndpoint(local: LocalMediaEndpoint): void {
  if (isIP(local.address) === 0) throw new TypeError(`local media address must be an IP literal, got ${JSON.stringify(local.address)}`);
  if (!Number.isInteger(local.port) || local.port < 1 || local.port > 65535) throw new RangeError(`local RTP port out of range: ${local.port}`);
  if (!/^\d+$/.test(local.sessionId)) throw new TypeError(`SDP session id must be numeric, got ${JSON.stringify(local.sessionId)}`);
  if (!Number.isInteger(local.sessionVersion) || local.sessionVersion < 0) throw new RangeError(`SDP session version must be a non-negative integer, got ${local.sessionVersion}`);
}

function checkCodecs(codecs: readonly CodecName[]): void {
  if (!Array.isArray(codecs) || codecs.length === 0) throw new RangeError('preferences.codecs must name at least one codec');
  for (const codec of codecs) {
    if (!isCodecName(codec)) throw new TypeError(`unknown codec ${JSON.stringify(codec)}; Voxgate supports ${CODEC_NAMES.join(', ')}`);
  }
}
