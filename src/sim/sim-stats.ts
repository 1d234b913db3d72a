/** Media counters of one simulator (or of several sharing one object), summed over their calls and streams. */
import { LatenessHistogram } from './realtime-ticker.js';

export interface SimStats {
  /** How late each outbound stream frame was sent against its 20 ms schedule. */
  frameLateness: LatenessHistogram;
  /** Media frames sent to stream servers. */
  framesSent: number;
  /** 20 ms frames of audio received from stream servers. */
  framesReceived: number;
  /** 20 ms frames of stream audio played into a party's ear. */
  framesPlayed: number;
  protocolErrors: number;
}

export function newSimStats(): SimStats {
  return { frameLateness: new LatenessHistogram(), framesSent: 0, framesReceived: 0, framesPlayed: 0, protocolErrors: 0 };
}
