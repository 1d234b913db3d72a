/** Call history with the API's filters, paged with its opaque cursor (a stack of cursors goes back). */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { formatDuration, formatTime, useLoad } from '../hooks.js';
import type { CallRecord } from '../types.js';

interface Filters {
  number: string;
  bot: string;
  direction: string;
  reason: string;
  from: string;
  to: string;
  limit: string;
}

const EMPTY: Filters = { number: '', bot: '', direction: '', reason: '', from: '', to: '', limit: '25' };

function query(filters: Filters, cursor: string | undefined): string {
  const q = new URLSearchParams();
  if (filters.number) q.set('number', filters.number);
  if (filters.bot) q.set('bot', filters.bot);
  if (filters.direction) q.set('direction', filters.direction);
  if (filters.reason) q.set('reason', filters.reason);
  // datetime-local inputs are local time; the API takes epoch milliseconds.
  if (filters.from) q.set('from', String(new Date(filters.from).getTime()));
  if (filters.to) q.set('to', String(new Date(filters.to).getTime()));
  if (filters.limit) q.set('limit', filters.limit);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

export function CallHistoryPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const qs = query(filters, cursor);
  const page = useLoad((signal) => api<{ calls: CallRecord[]; nextCursor: string | null }>('GET', `/api/v1/calls?${qs}`, undefined, signal), qs);

  const set = (name: keyof Filters) => (e: { currentTarget: HTMLInputElement }) => setDraft({ ...draft, [name]: e.currentTarget.value });
  const field = (name: keyof Filters, label: string) => (
    <label>
      {label}
      <input type="text" name={name} value={draft[name]} onInput={set(name)} />
    </label>
  );

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">Call history</h1>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          setCursors([undefined]);
        }}
      >
        {field('number', 'Number (from or to)')}
        {field('bot', 'Bot')}
        <label>
          Direction
          <select name="direction" value={draft.direction} onChange={(e) => setDraft({ ...draft, direction: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="inbound">inbound</option>
            <option value="outbound">outbound</option>
          </select>
        </label>
        {field('reason', 'End reason')}
        <label>
          Started after
          <input type="datetime-local" name="from" value={draft.from} onInput={set('from')} />
        </label>
        <label>
          Started before
          <input type="datetime-local" name="to" value={draft.to} onInput={set('to')} />
        </label>
        <label>
          Per page
          <input type="number" name="limit" min={1} max={200} value={draft.limit} onInput={set('limit')} />
        </label>
        <button type="submit">Search</button>
        <button
          type="button"
          onClick={() => {
            setDraft(EMPTY);
            setFilters(EMPTY);
            setCursors([undefined]);
          }}
        >
          Reset
        </button>
        <button type="button" onClick={page.reload}>
          Refresh
        </button>
      </form>
      <ErrorMessage error={page.error} />
      {page.data && page.data.calls.length === 0 && <Status>No calls match.</Status>}
      {page.data && page.data.calls.length > 0 && (
        <table>
          <caption>Calls, newest first (page {cursors.length})</caption>
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Direction</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Bot</th>
              <th scope="col">Duration</th>
              <th scope="col">End reason</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {page.data.calls.map((c) => (
              <tr key={c.id} data-call-id={c.id}>
                <td>{formatTime(c.startedAt)}</td>
                <td>{c.direction}</td>
                <td>{c.from}</td>
                <td>{c.to}</td>
                <td>{c.bot}</td>
                <td>{c.endedAt === null ? 'in progress' : formatDuration(c.durationMs)}</td>
                <td>{c.endReason ?? '—'}</td>
                <td>
                  <a href={`#/calls/${encodeURIComponent(c.id)}`} aria-label={`Open call ${c.id}`}>
                    Open
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>{' '}
        <button type="button" disabled={!page.data?.nextCursor} onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
