/**
 * The console softphone (#/phone, #/phone/<bot>): calls a bot from this browser over WebRTC with the
 * operator's own access token (scope calls:web), the fastest way to try a bot change. Shows the call's
 * state, the microphone level, mute, a keypad sending RFC 4733 events, the live transcript of both
 * sides and, once ended, the call's page in the history.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, getToken } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { useLoad } from '../hooks.js';
import { navigate } from '../router.js';
import { startBrowserCall, type BrowserCall, type BrowserCallState, type CallEnd } from '../webrtc/browser-call.js';
import { levelForDisplay } from '../webrtc/level-meter.js';
import { KEYPAD_KEYS, liveLine, SPEAKER_LABELS, type LiveLine } from '../webrtc/live-transcript.js';

function describeState(state: BrowserCallState | undefined, bot: string, end: CallEnd | undefined): string {
  if (state === 'connecting') return `Connecting to ${bot}…`;
  if (state === 'in-call') return `In call with ${bot}`;
  if (state === 'ended' && end) return end.error ? 'Call failed' : `Call ended: ${end.cause} (${end.reason})`;
  return 'Not in a call';
}

export function SoftphonePage({ bot: initialBot }: { bot?: string }) {
  const bots = useLoad((signal) => api<{ bots: { name: string }[] }>('GET', '/api/v1/bots', undefined, signal), 'bots');
  const [bot, setBot] = useState(initialBot ?? '');
  const [call, setCall] = useState<BrowserCall>();
  const [calledBot, setCalledBot] = useState('');
  const [state, setState] = useState<BrowserCallState>();
  const [level, setLevel] = useState(0);
  const [muted, setMuted] = useState(false);
  const [lines, setLines] = useState<LiveLine[]>([]);
  const [problem, setProblem] = useState<string>();
  const audio = useRef<HTMLAudioElement>(null);
  useEffect(() => setBot(initialBot ?? ''), [initialBot]);
  // Leaving the page hangs up: a call nobody can see or end must not stay up.
  useEffect(() => () => void call?.hangUp(), [call]);

  const place = () => {
    const token = getToken();
    if (!token || !bot) return;
    setLines([]);
    setProblem(undefined);
    setMuted(false);
    setLevel(0);
    const next = startBrowserCall({ gatewayUrl: '', credential: token, bot, audio: audio.current ?? undefined });
    next.on('state', setState);
    next.on('level', setLevel);
    next.on('error', setProblem);
    next.on('transcript', (e) => setLines((all) => [...all, liveLine(e)]));
    next.on('dtmf', (e) => setLines((all) => [...all, liveLine(e)]));
    setState(next.state);
    setCall(next);
    setCalledBot(bot);
  };

  const active = state === 'connecting' || state === 'in-call';
  const end = state === 'ended' ? call?.end : undefined;
  const botNames = bots.data?.bots.map((b) => b.name);
  return (
    <section aria-labelledby="softphone-title" class="softphone">
      <h1 id="softphone-title">Softphone</h1>
      <p>Call a bot from this browser with your microphone; the call is recorded like a phone call (carrier webrtc).</p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          place();
        }}
      >
        <label>
          Bot
          {botNames ? (
            <select value={bot} disabled={active} onChange={(e) => navigate(`/phone/${encodeURIComponent(e.currentTarget.value)}`)}>
              <option value="">choose a bot</option>
              {botNames.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          ) : (
            // Without bots:read the list is refused: the bot's name can still be typed.
            <input value={bot} disabled={active} onInput={(e) => setBot(e.currentTarget.value)} />
          )}
        </label>
        <button type="submit" disabled={active || !bot}>
          Call
        </button>
      </form>
      <ErrorMessage error={end?.error ?? problem ?? (botNames ? undefined : bots.error)} />
      <Status>{describeState(state, calledBot, end)}</Status>
      <audio ref={audio} autoplay />
      {active && (
        <div class="call-controls">
          <label>
            Microphone level <meter min={0} max={1} value={levelForDisplay(level)} aria-label="Microphone level" />
          </label>
          <button type="button" aria-pressed={muted} onClick={() => (call?.setMuted(!muted), setMuted(!muted))}>
            Mute
          </button>
          <div role="group" aria-label="Keypad" class="keypad">
            {KEYPAD_KEYS.map((key) => (
              <button key={key} type="button" disabled={state !== 'in-call'} onClick={() => call?.sendDigits(key, 'rtp')}>
                {key}
              </button>
            ))}
          </div>
          <button type="button" onClick={() => void call?.hangUp()}>
            Hang up
          </button>
        </div>
      )}
      {end && call?.callId && (
        <p>
          <a href={`#/calls/${encodeURIComponent(call.callId)}`}>Open in call history</a>
        </p>
      )}
      <h2>Transcript</h2>
      {lines.length === 0 ? (
        <p>Nothing said yet.</p>
      ) : (
        <ol class="transcript" aria-label="Live transcript" aria-live="polite">
          {lines.map((line) => (
            <li key={line.key} data-speaker={line.who}>
              <span class="speaker">{SPEAKER_LABELS[line.who]}:</span> <span class="text">{line.text}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
