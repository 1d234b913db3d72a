/**
 * Calls in progress with their transcripts, pushed over the gateway's WebSocket (GET /api/v1/live).
 * While the socket is down (or refused) the page polls instead: the list every second, and each
 * live call's transcript from GET /calls/:id every second (the record writer's batches).
 */
import type { ComponentChildren } from 'preact';
import { api, ApiError } from '../api.js';
import { useLiveStream, type StreamState } from '../live-stream.js';
import { ErrorMessage, Status } from '../components.js';
import { formatTime, useLoad } from '../hooks.js';
import type { CallDetail, LiveCall } from '../types.js';
import { Transcript } from './transcript.js';

const REFRESH_MS = 1000;
/** Each followed transcript is one request a second: past this many calls, open a call to follow it. */
const MAX_FOLLOWED = 20;

function LiveTranscript({ id }: { id: string }) {
  const detail = useLoad(
    async (signal) => {
      try {
        return await api<CallDetail>('GET', `/api/v1/calls/${encodeURIComponent(id)}`, undefined, signal);
      } catch (err) {
        // The call's record is written in the writer's next batch: not found yet is not an error.
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    id,
    REFRESH_MS,
  );
  if (detail.error) return <ErrorMessage error={detail.error} />;
  if (!detail.data) return <Status>Waiting for the first transcript line…</Status>;
  return <Transcript lines={detail.data.transcript} dtmf={detail.data.dtmf} label={`Live transcript of call ${id}`} />;
}

const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting… refreshed every second meanwhile.',
  live: 'Live: updates are pushed as they happen.',
  reconnecting: 'Reconnecting… refreshed every second meanwhile.',
  refused: 'Refreshed every second.',
};

function CallArticle({ call, children }: { call: LiveCall; children: ComponentChildren }) {
  return (
    <article class="live-call" aria-label={`Call ${call.id}`} data-call-id={call.id}>
      <h2>
        {call.direction === 'inbound' ? `${call.from} → ${call.to}` : `${call.to} ← ${call.from}`} <small>({call.bot})</small>
      </h2>
      <dl>
        <dt>Call id</dt>
        <dd>
          <a href={`#/calls/${encodeURIComponent(call.id)}`}>{call.id}</a>
        </dd>
        <dt>Direction</dt>
        <dd>{call.direction}</dd>
        <dt>Started</dt>
        <dd>{formatTime(call.startedAt)}</dd>
        <dt>State</dt>
        <dd>{call.connected ? 'connected' : 'setting up'}</dd>
      </dl>
      {children}
    </article>
  );
}

function PolledCalls() {
  const live = useLoad((signal) => api<{ calls: LiveCall[] }>('GET', '/api/v1/calls/live', undefined, signal), 'live', REFRESH_MS);
  const calls = live.data?.calls ?? [];
  return (
    <>
      <ErrorMessage error={live.error} />
      {live.data && calls.length === 0 && <Status>No calls in progress.</Status>}
      {calls.length > MAX_FOLLOWED && <p>{calls.length} calls: transcripts are followed for the first {MAX_FOLLOWED}; open a call for the others.</p>}
      {calls.map((call, index) => (
        <CallArticle key={call.id} call={call}>
          {index < MAX_FOLLOWED && <LiveTranscript id={call.id} />}
        </CallArticle>
      ))}
    </>
  );
}

export function LiveCallsPage() {
  const stream = useLiveStream();
  return (
    <section aria-labelledby="live-title">
      <h1 id="live-title">Live calls</h1>
      <p class="stream-state" data-state={stream.state}>
        {STATE_TEXT[stream.state]}
      </p>
      {stream.state === 'live' && stream.calls ? (
        <>
          {stream.calls.length === 0 && <Status>No calls in progress.</Status>}
          {stream.calls.map(({ call, lines, dtmf }) => (
            <CallArticle key={call.id} call={call}>
              <Transcript lines={lines} dtmf={dtmf} label={`Live transcript of call ${call.id}`} />
            </CallArticle>
          ))}
        </>
      ) : (
        <PolledCalls />
      )}
    </section>
  );
}
