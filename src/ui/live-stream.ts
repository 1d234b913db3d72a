/**
 * The live calls pushed over the gateway's WebSocket (GET /api/v1/live): authenticates in-band
 * (a browser cannot set an Authorization header on a WebSocket), applies the snapshot and the
 * events after it, and reconnects with backoff. While the socket is down the page polls instead.
 */
import { useEffect, useState } from 'preact/hooks';
import { getToken } from './api.js';
import type { DtmfRecord, LiveCall, TranscriptLine } from './types.js';

export interface StreamedCall {
  call: LiveCall;
  lines: TranscriptLine[];
  dtmf: DtmfRecord[];
}

/** live: the socket delivers; reconnecting: it dropped and is retried (polling meanwhile); refused: auth failed, polling only. */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface LiveStream {
  state: StreamState;
  /** Defined only while state is 'live'. */
  calls: StreamedCall[] | undefined;
}

const MAX_BACKOFF_MS = 10_000;
/** 1008: the token or its scope was refused; retrying with the same token cannot help. */
const CLOSE_POLICY_VIOLATION = 1008;

export function liveStreamUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/live`;
}

interface Message {
  type: string;
  callId?: string;
  at?: number;
  [key: string]: unknown;
}

function applyEvent(calls: Map<string, StreamedCall>, m: Message, nextId: () => number): void {
  const id = m.callId;
  if (typeof id !== 'string') return;
  const known = calls.get(id);
  switch (m.type) {
    case 'call.started':
      calls.set(id, {
        call: { id, carrier: String(m.carrier), direction: m.direction === 'outbound' ? 'outbound' : 'inbound', from: String(m.from), to: String(m.to), bot: String(m.bot), startedAt: Number(m.at), connected: false },
        lines: [],
        dtmf: [],
      });
      return;
    case 'call.answered':
      if (known) calls.set(id, { ...known, call: { ...known.call, connected: true } });
      return;
    case 'transcript':
      if (known) calls.set(id, { ...known, lines: [...known.lines, { id: nextId(), at: Number(m.at), speaker: String(m.who), text: String(m.text) }] });
      return;
    case 'dtmf':
      if (known) calls.set(id, { ...known, dtmf: [...known.dtmf, { id: nextId(), at: Number(m.at), digit: String(m.digit) }] });
      return;
    case 'call.ended':
      calls.delete(id);
      return;
  }
}

function fromSnapshot(list: unknown, nextId: () => number): Map<string, StreamedCall> {
  const calls = new Map<string, StreamedCall>();
  for (const raw of Array.isArray(list) ? (list as (LiveCall & { transcript?: { at: number; who: string; text: string }[] })[]) : []) {
    const { transcript, ...call } = raw;
    calls.set(call.id, { call, lines: (transcript ?? []).map((l) => ({ id: nextId(), at: l.at, speaker: l.who, text: l.text })), dtmf: [] });
  }
  return calls;
}

export function useLiveStream(): LiveStream {
  const [stream, setStream] = useState<LiveStream>({ state: 'connecting', calls: undefined });

  useEffect(() => {
    let socket: WebSocket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;
    let lineId = 0;
    const nextId = () => ++lineId;

    const connect = () => {
      const token = getToken();
      if (!token) return setStream({ state: 'refused', calls: undefined });
      let calls: Map<string, StreamedCall> | undefined;
      const ws = (socket = new WebSocket(liveStreamUrl()));
      ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
      ws.onmessage = (event: MessageEvent) => {
        let message: Message;
        try {
          message = JSON.parse(String(event.data)) as Message;
        } catch {
          return;
        }
        if (message.type === 'snapshot') {
          failures = 0;
          calls = fromSnapshot(message.calls, nextId);
        } else if (calls) {
          applyEvent(calls, message, nextId);
        } else return;
        setStream({ state: 'live', calls: [...calls.values()] });
      };
      ws.onclose = (event: CloseEvent) => {
        if (stopped) return;
        if (event.code === CLOSE_POLICY_VIOLATION) return setStream({ state: 'refused', calls: undefined });
        setStream({ state: 'reconnecting', calls: undefined });
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures++);
        timer = setTimeout(connect, backoff);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, []);

  return stream;
}
