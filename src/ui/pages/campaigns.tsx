/**
 * Every campaign, newest first, with its progress and outcome counts (refreshed every 2 s), paged
 * with the API's opaque cursor; pause, resume and cancel each row. Below: open a campaign by id.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { useLoad } from '../hooks.js';
import type { CampaignPage, CampaignProgress } from '../types.js';
import { CampaignPage as CampaignById } from './campaign.js';

const STATUSES = ['running', 'paused', 'cancelled', 'completed'] as const;
const ACTIONS = [
  { action: 'pause', label: 'Pause' },
  { action: 'resume', label: 'Resume' },
  { action: 'cancel', label: 'Cancel' },
] as const;

function counts(byOutcome: Record<string, number>): string {
  const entries = Object.entries(byOutcome).filter(([, n]) => n > 0);
  return entries.length ? entries.map(([outcome, n]) => `${outcome} ${n}`).join(', ') : '—';
}

function ProgressCell({ c }: { c: CampaignProgress }) {
  const settled = c.contacts.done + c.contacts.skipped;
  return (
    <>
      <progress max={Math.max(c.contacts.total, 1)} value={settled} aria-label={`Progress of ${c.name}`} />{' '}
      <span>
        {settled} of {c.contacts.total} contacts settled
      </span>
    </>
  );
}

export function CampaignsPage() {
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [actionError, setActionError] = useState<string>();
  const [actionDone, setActionDone] = useState<string>();
  const [busy, setBusy] = useState(false);
  const cursor = cursors[cursors.length - 1];
  const q = new URLSearchParams({ limit: '25' });
  if (status) q.set('status', status);
  if (cursor) q.set('cursor', cursor);
  const qs = q.toString();
  const page = useLoad((signal) => api<CampaignPage>('GET', `/api/v1/campaigns?${qs}`, undefined, signal), qs, 2000);

  const act = async (c: CampaignProgress, action: (typeof ACTIONS)[number]['action']) => {
    setActionError(undefined);
    setActionDone(undefined);
    setBusy(true);
    try {
      const after = await api<CampaignProgress>('POST', `/api/v1/campaigns/${encodeURIComponent(c.campaignId)}/${action}`);
      setActionDone(`${c.name}: ${after.status}.`);
    } catch (err) {
      // A 409 names the state that refused the action ("campaign is completed: cannot pause it").
      setActionError(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
      page.reload();
    }
  };

  return (
    <>
      <section aria-labelledby="campaigns-title">
        <h1 id="campaigns-title">Campaigns</h1>
        <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
          <label>
            Status
            <select
              name="status"
              value={status}
              onChange={(e) => {
                setStatus(e.currentTarget.value);
                setCursors([undefined]);
              }}
            >
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </form>
        <ErrorMessage error={actionError ?? page.error} />
        {actionDone && <Status>{actionDone}</Status>}
        {page.data && page.data.campaigns.length === 0 && <Status>No campaigns match.</Status>}
        {page.data && page.data.campaigns.length > 0 && (
          <table>
            <caption>Campaigns, newest first (page {cursors.length}, refreshed every 2 s)</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Contacts by outcome</th>
                <th scope="col">Attempts by outcome</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {page.data.campaigns.map((c) => (
                <tr key={c.campaignId} data-campaign-id={c.campaignId}>
                  <td>
                    <a href={`#/campaign/${encodeURIComponent(c.campaignId)}`}>{c.name}</a>
                  </td>
                  <td>{c.status}</td>
                  <td>
                    <ProgressCell c={c} />
                  </td>
                  <td>{counts(c.contactOutcomes)}</td>
                  <td>
                    {counts(c.attempts.byOutcome)}
                    {c.attempts.active > 0 && ` (${c.attempts.active} in progress)`}
                  </td>
                  <td>
                    {(c.status === 'running' || c.status === 'paused') &&
                      ACTIONS.map(({ action, label }) => (
                        <button key={action} type="button" disabled={busy} aria-label={`${label} ${c.name}`} onClick={() => void act(c, action)}>
                          {label}
                        </button>
                      ))}
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
      <CampaignById embedded />
    </>
  );
}
