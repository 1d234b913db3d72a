/** The RTP media layer of the SIP carrier: bound UDP sockets in, 20 ms PCM16 frames out (and back). */
export { AUDIO_CODECS, codecByName, codecByPayloadType, G722, PCMA, PCMU, silencePayload, type AudioCodec, type AudioDecoder, type AudioEncoder } from './rtp-codec.js';
export { createRtpHeader, isRtcp, parseRtpHeader, RTP_HEADER_LENGTH, writeRtpHeader, type RtpHeader } from './rtp-packet.js';
export { dtmfDigitOfEvent, eventOfDtmfDigit, parseTelephoneEvent, TelephoneEventTracker, type TelephoneEvent } from '../../rtp-media/telephone-event.js';
export { parseRtcp, ReceptionStats, roundTripMs, type ReportBlock, type RtcpCompound, type SenderInfo } from './rtcp.js';
export { Concealer, JitterBuffer, PullResult, PushResult, type JitterBufferOptions } from './jitter-buffer.js';
export { createRtpSocket, RtpPortPool, type RtpPortPair, type RtpPortPoolOptions } from './rtp-port-pool.js';
export { RtpPacer, sharedPacer, TICK_MS } from '../../rtp-media/rtp-pacer.js';
export { MAX_BURST, RtpSession, type MediaDirection, type RtpRemote, type RtpSessionEvents, type RtpSessionOptions, type RtpSessionStats } from './rtp-session.js';
