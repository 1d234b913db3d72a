/** One call: record, transcript with DTMF, prompts, turns with a latency waterfall, recordings. */
import { useEffect, useState } from 'preact/hooks';
import { api, apiBlob } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { formatDuration, formatTime, useLoad } from '../hooks.js';
import type { CallDetail, RecordingView, TurnRecord } from '../types.js';
import { Transcript } from './transcript.js';

/** Where a turn's time went, each phase as an offset from the caller's input and a length. */
function phases(turn: TurnRecord): { name: 'stt' | 'bot' | 'tts'; start: number; ms: number }[] {
  const out: { name: 'stt' | 'bot' | 'tts'; start: number; ms: number }[] = [];
  let at = 0;
  // The waterfall lays the phases end to end: stt (speech end -> text), bot (sent -> answer), tts (answer -> first audio).
  for (const [name, ms] of [
    ['stt', turn.sttMs],
    ['bot', turn.botMs],
    ['tts', turn.ttsMs],
  ] as const) {
    if (ms === null || ms < 0) continue;
    out.push({ name, start: at, ms });
    at += ms;
  }
  return out;
}

function Waterfall({ turn, scaleMs }: { turn: TurnRecord; scaleMs: number }) {
  const parts = phases(turn);
  if (parts.length === 0) return <span>—</span>;
  const describe = parts.map((p) => `${p.name} ${Math.round(p.ms)} ms`).join(', ');
  return (
    <div class="waterfall" role="img" aria-label={`Latency: ${describe}`}>
      {parts.map((p) => (
        <div key={p.name} class={`bar bar-${p.name}`} style={{ left: `${(p.start / scaleMs) * 100}%`, width: `${Math.max((p.ms / scaleMs) * 100, 0.5)}%` }} title={`${p.name}: ${Math.round(p.ms)} ms`}>
          {p.name}
        </div>
      ))}
    </div>
  );
}

function ms(value: number | null): string {
  return value === null ? '—' : `${Math.round(value)}`;
}

function Turns({ turns }: { turns: TurnRecord[] }) {
  if (turns.length === 0) return <p>No turns.</p>;
  const scaleMs = Math.max(1, ...turns.map((t) => (t.sttMs ?? 0) + (t.botMs ?? 0) + (t.ttsMs ?? 0)));
  return (
    <>
      <p class="legend" aria-hidden="true">
        <span class="bar-stt" />
        speech to text
        <span class="bar-bot" />
        bot
        <span class="bar-tts" />
        text to speech (to first audio)
      </p>
      <table>
        <caption>Turns and latencies (ms)</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Input</th>
            <th scope="col">STT</th>
            <th scope="col">Bot</th>
            <th scope="col">TTS</th>
            <th scope="col">End to end</th>
            <th scope="col">Waterfall</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {turns.map((t) => (
            <tr key={t.seq}>
              <td>{t.seq}</td>
              <td>
                {t.inputKind}
                {t.inputText ? `: ${t.inputText}` : ''}
              </td>
              <td>{ms(t.sttMs)}</td>
              <td>{ms(t.botMs)}</td>
              <td>{ms(t.ttsMs)}</td>
              <td>{ms(t.e2eMs)}</td>
              <td>
                <Waterfall turn={t} scaleMs={scaleMs} />
              </td>
              <td>
                {t.outcome}
                {t.error ? ` (${t.error})` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The download needs the Authorization header, so the audio is fetched as a blob and played from an object URL. */
function Recording({ recording }: { recording: RecordingView }) {
  const [src, setSrc] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let url: string | undefined;
    let cancelled = false;
    apiBlob(recording.url)
      .then((blob) => {
        if (cancelled) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      })
      .catch((err: unknown) => setError(`Recording ${recording.n}: ${err instanceof Error ? err.message : String(err)}`));
    return () => {
      cancelled = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [recording.url]);
  return (
    <li>
      <p>
        Recording {recording.n}: {formatDuration(recording.durationMs)}, {recording.sampleRate} Hz, {recording.channels === 2 ? 'stereo (caller left, bot right)' : `${recording.channels} channel`}
      </p>
      <ErrorMessage error={error} />
      {src && <audio controls src={src} aria-label={`Recording ${recording.n}`} />}
      {src && (
        <a href={src} download={`call-recording-${recording.n}.wav`}>
          Download
        </a>
      )}
    </li>
  );
}

export function CallDetailPage({ id }: { id: string }) {
  const [inProgress, setInProgress] = useState(false);
  // A call still in progress is re-read every second (no push of transcript lines yet), until it ends.
  const detail = useLoad((signal) => api<CallDetail>('GET', `/api/v1/calls/${encodeURIComponent(id)}`, undefined, signal), id, inProgress ? 1000 : undefined);
  const call = detail.data?.call;
  useEffect(() => setInProgress(call !== undefined && call.endedAt === null), [call?.endedAt, call !== undefined]);
  return (
    <section aria-labelledby="detail-title">
      <h1 id="detail-title">Call {id}</h1>
      {inProgress && <p role="status">In progress: refreshed every second.</p>}
      <p>
        <a href="#/calls">Back to the history</a>{' '}
        <button type="button" onClick={detail.reload}>
          Refresh
        </button>
      </p>
      <ErrorMessage error={detail.error} />
      {!detail.data && !detail.error && <Status>Loading…</Status>}
      {call && detail.data && (
        <>
          <dl>
            <dt>Direction</dt>
            <dd>{call.direction}</dd>
            <dt>From</dt>
            <dd>{call.from}</dd>
            <dt>To</dt>
            <dd>{call.to}</dd>
            <dt>Bot</dt>
            <dd>{call.bot}</dd>
            <dt>Carrier</dt>
            <dd>
              {call.carrier} ({call.carrierCallId})
            </dd>
            <dt>Started</dt>
            <dd>{formatTime(call.startedAt)}</dd>
            <dt>Answered</dt>
            <dd>{formatTime(call.answeredAt)}</dd>
            <dt>Ended</dt>
            <dd>{formatTime(call.endedAt)}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(call.durationMs)}</dd>
            <dt>End</dt>
            <dd>
              {call.endReason ?? '—'} {call.hangupSide ? `by ${call.hangupSide}` : ''} {call.hangupCause ? `(${call.hangupCause})` : ''}
            </dd>
          </dl>
          <h2>Transcript</h2>
          <Transcript lines={detail.data.transcript} dtmf={detail.data.dtmf} label="Transcript" />
          <h2>DTMF</h2>
          {detail.data.dtmf.length === 0 ? <p>No keys pressed.</p> : <p aria-label="Digits pressed">{detail.data.dtmf.map((d) => d.digit).join(' ')}</p>}
          <h2>Prompts</h2>
          {detail.data.prompts.length === 0 ? (
            <p>No prompts.</p>
          ) : (
            <table>
              <caption>What the bot said</caption>
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Text</th>
                  <th scope="col">Played for</th>
                  <th scope="col">Heard in full</th>
                </tr>
              </thead>
              <tbody>
                {detail.data.prompts.map((p) => (
                  <tr key={p.id}>
                    <td>{new Date(p.startedAt).toLocaleTimeString()}</td>
                    <td>{p.text}</td>
                    <td>{((p.endedAt - p.startedAt) / 1000).toFixed(1)} s</td>
                    <td>{p.heardInFull ? 'yes' : 'no (cut)'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Turns</h2>
          <Turns turns={detail.data.turns} />
          <h2>Recordings</h2>
          {detail.data.recordings.length === 0 ? (
            <p>No recordings.</p>
          ) : (
            <ul>
              {detail.data.recordings.map((r) => (
                <Recording key={r.n} recording={r} />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
