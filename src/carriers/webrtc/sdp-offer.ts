/**
 * What a browser's SDP offer asks for, read before the offer reaches the WebRTC stack, so a bad offer
 * gets a 400 naming what is wrong (not a stack trace): an SDP at all, an audio m-line, a codec we take
 * (the first of ours, in our order of preference, that the offer has), RFC 4733 at that codec's clock
 * rate, and whether a data channel comes with it.
 */
import type { WebRtcCodecName } from './webrtc-config.js';

export interface OfferedAudio {
  codec: WebRtcCodecName;
  /** The offer's payload type for the codec. */
  payloadType: number;
  /** The offer's telephone-event payload type at the codec's clock rate, when offered. */
  telephoneEventPayloadType?: number;
  /**
   * Every telephone-event payload type the offer has, at any clock rate: Chromium offers 48000 and
   * 8000 and may send keys on either (it sent them on its 8000 one beside Opus), so all of them are keys.
   */
  telephoneEventPayloadTypes: number[];
  /** The offer has an SCTP data channel m-line. */
  dataChannel: boolean;
}

export class OfferProblem extends Error {
  override readonly name = 'OfferProblem';
}

const CLOCK_RATES: Record<WebRtcCodecName, number> = { opus: 48000, PCMU: 8000, PCMA: 8000 };
const STATIC_TYPES: Partial<Record<WebRtcCodecName, number>> = { PCMU: 0, PCMA: 8 };

/** Reads the offer; throws OfferProblem naming what the page must fix. */
export function readOffer(sdp: string, accepted: readonly WebRtcCodecName[]): OfferedAudio {
  const lines = sdp.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== 'v=0' || !lines.some((l) => l.startsWith('o=')) || !lines.some((l) => l.startsWith('m='))) {
    throw new OfferProblem('the body is not an SDP offer (it must start with v=0 and have o= and m= lines)');
  }
  const sections: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([line]);
    else if (sections.length > 0 && line !== '') sections[sections.length - 1].push(line);
  }
  const dataChannel = sections.some((s) => s[0].startsWith('m=application') && /DTLS\/SCTP/i.test(s[0]));
  const audio = sections.find((s) => /^m=audio [1-9]\d* /.test(s[0])) ?? sections.find((s) => s[0].startsWith('m=audio'));
  if (!audio) throw new OfferProblem('the SDP offer has no audio m-line: add an audio track (or an audio transceiver) before createOffer()');
  const formats = audio[0].split(/\s+/).slice(3).map(Number).filter(Number.isInteger);
  const rtpmaps = new Map<number, { name: string; rate: number }>();
  for (const line of audio) {
    const m = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(line);
    if (m) rtpmaps.set(Number(m[1]), { name: m[2].toLowerCase(), rate: Number(m[3]) });
  }
  const typeOf = (codec: WebRtcCodecName): number | undefined => {
    for (const pt of formats) {
      const map = rtpmaps.get(pt);
      if (map ? map.name === codec.toLowerCase() && map.rate === CLOCK_RATES[codec] : pt === STATIC_TYPES[codec]) return pt;
    }
    return undefined;
  };
  for (const codec of accepted) {
    const payloadType = typeOf(codec);
    if (payloadType === undefined) continue;
    const allTe = formats.filter((pt) => rtpmaps.get(pt)?.name === 'telephone-event');
    const te = allTe.find((pt) => rtpmaps.get(pt)?.rate === CLOCK_RATES[codec]);
    return { codec, payloadType, ...(te !== undefined ? { telephoneEventPayloadType: te } : {}), telephoneEventPayloadTypes: allTe, dataChannel };
  }
  const offered = formats.map((pt) => (rtpmaps.get(pt) ? `${rtpmaps.get(pt)!.name}/${rtpmaps.get(pt)!.rate}` : String(pt))).join(', ');
  throw new OfferProblem(`no common audio codec: the offer has ${offered || 'none'}; this gateway takes ${accepted.join(', ')}`);
}
