/**
 * Active alarms and their history. The page listens to /alarms/stream (SSE read with fetch, since
 * EventSource cannot send the token) and reloads both lists on each change; it reconnects on loss.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, readEventStream } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { formatTime, useLoad } from '../hooks.js';
import type { ActiveAlarm, AlarmHistoryEntry } from '../types.js';

const RECONNECT_MS = 3000;

function useAlarmStream(onChange: () => void): string {
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      setState('connecting');
      readEventStream('/api/v1/alarms/stream', (e) => e.event === 'alarm' && onChange(), controller.signal, () => {
        setState('live');
        // Changes made while disconnected are picked up by reloading once connected.
        onChange();
      })
        .then(() => !controller.signal.aborted && setState('disconnected'))
        .catch((err: unknown) => !controller.signal.aborted && setState(`disconnected: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          if (!controller.signal.aborted) timer = setTimeout(connect, RECONNECT_MS);
        });
    };
    connect();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, []);
  return state;
}

function ActiveAlarms() {
  const active = useLoad((signal) => api<{ alarms: ActiveAlarm[] }>('GET', '/api/v1/alarms', undefined, signal), 'active');
  const [history, setHistoryBefore] = useState<(number | undefined)[]>([undefined]);
  const before = history[history.length - 1];
  const historyPage = useLoad(
    (signal) => api<{ entries: AlarmHistoryEntry[]; nextBefore: number | null }>('GET', `/api/v1/alarms/history?limit=20${before ? `&before=${before}` : ''}`, undefined, signal),
    `history-${before ?? ''}`,
  );
  const reloadBoth = () => {
    active.reload();
    historyPage.reload();
  };
  // reload functions are stable, so the stream's callback (captured once) keeps working.
  const stream = useAlarmStream(reloadBoth);
  const [actionError, setActionError] = useState<string>();

  const clear = async (alarm: ActiveAlarm) => {
    setActionError(undefined);
    try {
      await api('POST', `/api/v1/alarms/${alarm.id}/clear`, { message: 'cleared from the console' });
      reloadBoth();
    } catch (err) {
      setActionError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <>
      <p>
        Updates: <span data-testid="alarm-stream-state">{stream}</span>
      </p>
      <ErrorMessage error={active.error ?? actionError} />
      <h2>Active</h2>
      {active.data && active.data.alarms.length === 0 && <Status>No active alarms.</Status>}
      {active.data && active.data.alarms.length > 0 && (
        <table aria-label="Active alarms">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Type</th>
              <th scope="col">Entity</th>
              <th scope="col">Message</th>
              <th scope="col">Raised</th>
              <th scope="col">Updated</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {active.data.alarms.map((a) => (
              <tr key={a.id} data-alarm-type={a.type}>
                <td class={`sev-${a.severity}`}>{a.severity}</td>
                <td>{a.type}</td>
                <td>{a.entity}</td>
                <td>{a.message}</td>
                <td>{formatTime(a.raisedAt)}</td>
                <td>{formatTime(a.updatedAt)}</td>
                <td>
                  <button type="button" onClick={() => clear(a)} aria-label={`Clear ${a.type} on ${a.entity}`}>
                    Clear
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>History</h2>
      <ErrorMessage error={historyPage.error} />
      {historyPage.data && (
        <table aria-label="Alarm history">
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">Severity</th>
              <th scope="col">Type</th>
              <th scope="col">Entity</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {historyPage.data.entries.map((h) => (
              <tr key={h.id}>
                <td>{formatTime(h.at)}</td>
                <td class={`sev-${h.severity}`}>{h.severity}</td>
                <td>{h.type}</td>
                <td>{h.entity}</td>
                <td>{h.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="History pages">
        <button type="button" disabled={history.length <= 1} onClick={() => setHistoryBefore(history.slice(0, -1))}>
          Newer
        </button>{' '}
        <button type="button" disabled={!historyPage.data?.nextBefore} onClick={() => historyPage.data?.nextBefore && setHistoryBefore([...history, historyPage.data.nextBefore])}>
          Older
        </button>
      </nav>
    </>
  );
}

export function AlarmsPage() {
  return (
    <section aria-labelledby="alarms-title">
      <h1 id="alarms-title">Alarms</h1>
      <ActiveAlarms />
    </section>
  );
}
