/** A campaign's progress by id: opened from the campaign list (#/campaign/<id>) or by typing the id. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage } from '../components.js';
import { useLoad } from '../hooks.js';

export interface CampaignPageProps {
  /** The campaign to show at once (from the route). */
  id?: string;
  /** Shown under the campaign list: a section of that page, not a page of its own. */
  embedded?: boolean;
}

export function CampaignPage({ id: initialId = '', embedded = false }: CampaignPageProps) {
  const [draft, setDraft] = useState(initialId);
  const [id, setId] = useState(initialId);
  const progress = useLoad((signal) => (id ? api<Record<string, unknown>>('GET', `/api/v1/campaigns/${encodeURIComponent(id)}`, undefined, signal) : Promise.resolve(undefined)), id, id ? 2000 : undefined);
  const Heading = embedded ? 'h2' : 'h1';
  const Sub = embedded ? 'h3' : 'h2';
  return (
    <section aria-labelledby="campaign-title">
      <Heading id="campaign-title">{embedded ? 'Open a campaign by id' : 'Campaign'}</Heading>
      {!embedded && (
        <p>
          <a href="#/campaigns">All campaigns</a>
        </p>
      )}
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
          <Sub>Progress (refreshed every 2 s)</Sub>
          <pre aria-label="Campaign progress">{JSON.stringify(progress.data, null, 2)}</pre>
        </>
      )}
    </section>
  );
}
