/** A campaign's progress by id (the API has no campaign list yet). */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage } from '../components.js';
import { useLoad } from '../hooks.js';

export function CampaignPage() {
  const [draft, setDraft] = useState('');
  const [id, setId] = useState('');
  const progress = useLoad((signal) => (id ? api<Record<string, unknown>>('GET', `/api/v1/campaigns/${encodeURIComponent(id)}`, undefined, signal) : Promise.resolve(undefined)), id, id ? 2000 : undefined);
  return (
    <section aria-labelledby="campaign-title">
      <h1 id="campaign-title">Campaign</h1>
      <p>The API has no campaign list yet: open a campaign by the id its creation returned.</p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setId(draft.trim());
        }}
      >
        <label>
          Campaign id
          <input value={draft} onInput={(e) => setDraft(e.currentTarget.value)} required />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorMessage error={progress.error} />
      {progress.data && (
        <>
          <h2>Progress (refreshed every 2 s)</h2>
          <pre aria-label="Campaign progress">{JSON.stringify(progress.data, null, 2)}</pre>
        </>
      )}
    </section>
  );
}
