/**
 * What SDP says about audio formats and what Voxgate makes of it: the codecs the SIP carrier can
 * carry (G.711 both laws and G.722), the RFC 3551 static payload types a peer may list without an
 * rtpmap line, matching an offered format against our codecs, and the RFC 4733 event list carried in
 * telephone-event's fmtp. Pure data and functions; the offer/answer logic is in sdp-negotiation.ts.
 */

export type CodecName = 'PCMU' | 'PCMA' | 'G722';

export interface SdpCodec {
  name: CodecName;
  /** RFC 3551 static payload type: what we offer, and what an rtpmap-less offer means. */
  payloadType: number;
  /** The encoding name in rtpmap (matched case-insensitively, written as here). */
  encodingName: string;
  /** RTP timestamp clock, as written in rtpmap. */
  clockRate: number;
  /** Audio sample rate: G.722 samples at 16 kHz though its RTP clock runs at 8 kHz (RFC 3551 4.5.2). */
  sampleRate: 8000 | 16000;
}

export const SDP_CODECS: Readonly<Record<CodecName, SdpCodec>> = {
  PCMU: { name: 'PCMU', payloadType: 0, encodingName: 'PCMU', clockRate: 8000, sampleRate: 8000 },
  PCMA: { name: 'PCMA', payloadType: 8, encodingName: 'PCMA', clockRate: 8000, sampleRate: 8000 },
  G722: { name: 'G722', payloadType: 9, encodingName: 'G722', clockRate: 8000, sampleRate: 16000 },
};

export const CODEC_NAMES: readonly CodecName[] = ['PCMU', 'PCMA', 'G722'];

export function isCodecName(value: unknown): value is CodecName {
  return typeof value === 'string' && (CODEC_NAMES as readonly string[]).includes(value);
}

/**
 * RFC 3551 table 4 (audio) and 5 (video) static assignments: a peer may list these in m= without an
 * rtpmap line. Only PCMU, PCMA and G722 matter for the choice; the rest name formats in error messages.
 */
const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, { name: string; clockRate: number; channels?: number }> = new Map([
  [0, { name: 'PCMU', clockRate: 8000 }],
  [3, { name: 'GSM', clockRate: 8000 }],
  [4, { name: 'G723', clockRate: 8000 }],
  [5, { name: 'DVI4', clockRate: 8000 }],
  [6, { name: 'DVI4', clockRate: 16000 }],
  [7, { name: 'LPC', clockRate: 8000 }],
  [8, { name: 'PCMA', clockRate: 8000 }],
  [9, { name: 'G722', clockRate: 8000 }],
  [10, { name: 'L16', clockRate: 44100, channels: 2 }],
  [11, { name: 'L16', clockRate: 44100 }],
  [12, { name: 'QCELP', clockRate: 8000 }],
  [13, { name: 'CN', clockRate: 8000 }],
  [14, { name: 'MPA', clockRate: 90000 }],
  [15, { name: 'G728', clockRate: 8000 }],
  [16, { name: 'DVI4', clockRate: 11025 }],
  [17, { name: 'DVI4', clockRate: 22050 }],
  [18, { name: 'G729', clockRate: 8000 }],
  [25, { name: 'CelB', clockRate: 90000 }],
  [26, { name: 'JPEG', clockRate: 90000 }],
  [28, { name: 'nv', clockRate: 90000 }],
  [31, { name: 'H261', clockRate: 90000 }],
  [32, { name: 'MPV', clockRate: 90000 }],
  [33, { name: 'MP2T', clockRate: 90000 }],
  [34, { name: 'H263', clockRate: 90000 }],
]);

/** One format of an m= line, with what its rtpmap (or the static table) says. */
export interface SdpFormat {
  payloadType: number;
  /** Undefined for a dynamic payload type the peer left without an rtpmap line (unusable). */
  encodingName?: string;
  clockRate?: number;
  channels?: number;
  /** The fmtp parameters, verbatim. */
  fmtp?: string;
  /** True when the name comes from RFC 3551 rather than an rtpmap line. */
  fromStaticTable?: boolean;
}

export function staticFormat(payloadType: number): SdpFormat {
  const known = STATIC_PAYLOAD_TYPES.get(payloadType);
  if (!known) return { payloadType };
  return { payloadType, encodingName: known.name, clockRate: known.clockRate, channels: known.channels, fromStaticTable: true };
}

/** How a format reads in a message: "opus/48000/2", "PCMU/8000", "PT 96 (no rtpmap)". */
export function describeFormat(format: SdpFormat): string {
  if (format.encodingName === undefined) return `PT ${format.payloadType} (no rtpmap)`;
  const rate = format.clockRate !== undefined ? `/${format.clockRate}` : '';
  const channels = format.channels !== undefined && format.channels !== 1 ? `/${format.channels}` : '';
  return `${format.encodingName}${rate}${channels}`;
}

export interface CodecMatch {
  codec: CodecName;
  /** Set when the peer wrote G722/16000: we still run the RTP clock at 8000 as RFC 3551 says, and say so. */
  note?: string;
}

/** Which of `codecs` this format is, if any: by encoding name, 8 kHz RTP clock, mono. */
export function matchCodec(format: SdpFormat, codecs: readonly CodecName[]): CodecMatch | undefined {
  const name = format.encodingName?.toUpperCase();
  if (name === undefined) return undefined;
  if (format.channels !== undefined && format.channels !== 1) return undefined;
  for (const codec of codecs) {
    const known = SDP_CODECS[codec];
    if (name !== known.encodingName) continue;
    if (format.clockRate === known.clockRate) return { codec };
    // Some stacks write the sample rate instead of RFC 3551's clock rate; the stream is still G.722.
    if (codec === 'G722' && format.clockRate === 16000) {
      return { codec, note: `peer wrote G722/16000 for PT ${format.payloadType}; the RTP clock stays 8000 as RFC 3551 defines it` };
    }
  }
  return undefined;
}

export function isTelephoneEvent(format: SdpFormat): boolean {
  return format.encodingName?.toLowerCase() === 'telephone-event' && format.clockRate === 8000;
}

/** The RFC 4733 events Voxgate handles: DTMF 0-9 * # A-D (0-15) and flash (16). */
export const SUPPORTED_EVENTS = { first: 0, last: 16 } as const;
/** RFC 4733 2.4.1: a telephone-event without an fmtp line means the DTMF events 0-15. */
const DEFAULT_OFFERED_EVENTS = '0-15';

/**
 * The event list for our answer: the offered events (an fmtp like "0-15", "0-16", "0-15,32-41") that
 * Voxgate handles, written back as ranges. Undefined when none of them is one we handle; an fmtp we
 * cannot read counts as the RFC default.
 */
export function answerEvents(offeredFmtp: string | undefined): string | undefined {
  const offered = parseEventList(offeredFmtp ?? DEFAULT_OFFERED_EVENTS) ?? parseEventList(DEFAULT_OFFERED_EVENTS)!;
  const kept: number[] = [];
  for (let event = SUPPORTED_EVENTS.first; event <= SUPPORTED_EVENTS.last; event++) if (offered.has(event)) kept.push(event);
  return kept.length === 0 ? undefined : writeEventList(kept);
}

function parseEventList(text: string): Set<number> | undefined {
  const events = new Set<number>();
  // The fmtp of telephone-event is a bare list; tolerate an "events=" prefix seen from a few stacks.
  const list = text.trim().replace(/^events=/i, '');
  for (const item of list.split(',')) {
    const m = /^\s*(\d{1,3})(?:\s*-\s*(\d{1,3}))?\s*$/.exec(item);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 255 || to > 255 || to < from) return undefined;
    for (let e = from; e <= to; e++) events.add(e);
  }
  return events;
}

function writeEventList(sorted: number[]): string {
  const parts: string[] = [];
  let start = sorted[0];
  let prev = start;
  for (const e of [...sorted.slice(1), Number.NaN]) {
    if (e === prev + 1) {
      prev = e;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = prev = e;
  }
  return parts.join(',');
}
