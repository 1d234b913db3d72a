/**
 * The first moments of a carrier's media WebSocket, the same for every WebSocket carrier: wait (with a
 * deadline) for the `start` message, find the live call it names in the call registry, refuse sockets
 * for unknown or ended calls, for a call the stream was not issued for, and for a call that already had
 * its stream (close 1008 with the reason), then hand the socket to a WebSocketLeg and the leg to the
 * application. The carrier verifies the upgrade's signature first.
 */
import type { WebSocket, RawData } from 'ws';
import type { CallHandler } from '../leg.js';
import type { Logger } from '../../logger.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import type { MediaWire, StreamMediaFormat, StreamStart } from './media-wire.js';
import type { StreamAdmission } from './stream-admission.js';
import { RateLimitedWarnings } from '../../runtime/rate-limited-warnings.js';
import { DEFAULT_MAX_MESSAGE_BYTES, WebSocketLeg, closeReason, messageBuffer, messageSize, type StreamCallControl } from './websocket-leg.js';

export interface StreamAcceptorOptions {
  /** The carrier's name: "plivo", "twilio". */
  carrier: string;
  wire: MediaWire;
  handler: CallHandler;
  /** Call control for the call the stream belongs to (REST transfer and hangup). */
  control: (start: StreamStart) => StreamCallControl;
  logger: Logger;
  clock: Clock;
  /** Default 64 KiB; larger messages close the stream with 1009. */
  maxMessageBytes?: number;
  /** How long a stream may stay open without a `start` message; default 10 s. */
  startTimeoutMs?: number;
  /** The format Voxgate asked for; a stream in another one is used as it is, with a warning. */
  requestedFormat?: { format: StreamMediaFormat; name: string };
  /** One stream per call, ever: a call that had its stream refuses another one. */
  admission: StreamAdmission;
  /** Why this stream may not serve the call its `start` names (its ticket is for another call), or undefined. */
  admit(start: StreamStart): string | undefined;
}

/** Takes over a freshly upgraded media socket (its signature already checked). */
export function acceptMediaStream(socket: WebSocket, remoteIp: string, opts: StreamAcceptorOptions): void {
  const { wire, handler, logger: log, clock } = opts;
  const label = wire.label;
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const reader = wire.createReader();
  const warnings = new RateLimitedWarnings(log.child({ ip: remoteIp }), clock);
  let startTimer: TimerHandle | undefined = clock.setTimeout(() => {
    log.warn({ ip: remoteIp, timeoutMs: startTimeoutMs }, `${label} stream sent no start event; closing`);
    socket.close(1008, `no start event within ${startTimeoutMs} ms`);
  }, startTimeoutMs);
  const stopWaiting = () => {
    startTimer?.cancel();
    startTimer = undefined;
    socket.off('message', beforeStart);
    socket.off('close', stopWaiting);
  };
  const refuse = (message: string, reason: string, fields: Record<string, unknown>) => {
    stopWaiting();
    log.warn(fields, message);
    socket.close(1008, closeReason(reason));
  };

  function beforeStart(data: RawData, isBinary: boolean): void {
    const size = messageSize(data);
    if (size > maxMessageBytes) {
      stopWaiting();
      log.warn({ size, limit: maxMessageBytes }, `${label} stream message of ${size} bytes exceeds the ${maxMessageBytes}-byte limit; closing`);
      socket.close(1009, `message of ${size} bytes exceeds ${maxMessageBytes}`);
      return;
    }
    if (isBinary) {
      warnings.warn('binary-frame', `${label} stream message rejected before start: a ${size}-byte binary frame; expected JSON text frames`);
      return;
    }
    const msg = reader.read(messageBuffer(data));
    if ('problem' in msg) {
      warnings.warn(msg.problemKind, `${label} stream message rejected before start: ${msg.problem}`);
      return;
    }
    if (msg.event === 'ignored') return;
    if (msg.event !== 'start') {
      warnings.warn(`early-${msg.event}`, `${label} stream sent "${msg.event}" before "start"; dropped`);
      return;
    }
    const { start } = msg;
    const { carrierCallId, streamId } = start;
    const idField = { [wire.callIdField]: carrierCallId };
    const call = handler.findCall(opts.carrier, carrierCallId);
    if (!call) {
      const endedId = handler.endedCall(opts.carrier, carrierCallId);
      if (endedId !== undefined) {
        refuse(`${label} stream for call ${carrierCallId} opened after the call ended; closing`, `call ${carrierCallId} already ended`, { ...idField, callId: endedId, streamId });
      } else {
        refuse(`${label} stream start names unknown call ${carrierCallId} (Voxgate did not answer it); closing`, `unknown callId ${carrierCallId}`, { ...idField, streamId });
      }
      return;
    }
    const fields = { ...idField, callId: call.info.callId, streamId };
    const denied = opts.admit(start);
    if (denied) {
      refuse(`${label} stream refused: ${denied}; closing`, denied, fields);
      return;
    }
    // Checked after the ticket, so a stray socket cannot use up the call's one stream.
    if (call.leg || !opts.admission.claim(carrierCallId)) {
      refuse(`${label} call ${carrierCallId} already had its media stream; closing the second one`, `call ${carrierCallId} already has a stream`, fields);
      return;
    }
    const requested = opts.requestedFormat;
    if (requested && (requested.format.encoding !== start.format.encoding || requested.format.sampleRate !== start.format.sampleRate)) {
      // Decode what the carrier actually sends and answer in the same format: a mismatch means silent audio.
      log.warn({ ...idField, configured: requested.name, actual: start.format }, `${label} stream format differs from the configured one; using the stream's`);
    }
    stopWaiting();
    const leg = new WebSocketLeg({
      socket,
      carrier: opts.carrier,
      label,
      callIdField: wire.callIdField,
      callId: call.info.callId,
      start,
      reader,
      writer: wire.writerFor(start),
      control: opts.control(start),
      logger: log,
      clock,
      maxMessageBytes,
    });
    log.info({ callId: call.info.callId, ...idField, streamId, format: start.format }, `${label} stream started`);
    try {
      handler.legStarted(call.info, leg);
    } catch (err) {
      log.error({ err, callId: call.info.callId }, 'legStarted failed; closing the stream');
      socket.close(1011, 'internal error');
    }
  }

  socket.on('message', beforeStart);
  socket.on('close', stopWaiting);
}
