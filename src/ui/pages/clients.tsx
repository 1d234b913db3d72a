/** OAuth API clients: list, create (the secret is shown once), revoke. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { useLoad } from '../hooks.js';
import { SCOPES, type ApiClient } from '../types.js';

export function ClientsPage() {
  const list = useLoad((signal) => api<{ clients: ApiClient[] }>('GET', '/api/v1/clients', undefined, signal), 'clients');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [created, setCreated] = useState<ApiClient & { clientSecret: string }>();
  const [error, setError] = useState<string>();

  const create = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setCreated(undefined);
    try {
      setCreated(await api<ApiClient & { clientSecret: string }>('POST', '/api/v1/clients', { name, scopes }));
      setName('');
      setScopes([]);
      list.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const revoke = async (client: ApiClient) => {
    if (!confirm(`Revoke ${client.name} (${client.clientId})? Its tokens stop working.`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/api/v1/clients/${encodeURIComponent(client.clientId)}`);
      list.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section aria-labelledby="clients-title">
      <h1 id="clients-title">API clients</h1>
      <ErrorMessage error={list.error ?? error} />
      {created && (
        <div role="status" class="secret">
          <p>
            Client <strong>{created.name}</strong> created. Copy the secret now: it is not shown again.
          </p>
          <dl>
            <dt>Client id</dt>
            <dd data-testid="created-client-id">{created.clientId}</dd>
            <dt>Client secret</dt>
            <dd data-testid="created-client-secret">{created.clientSecret}</dd>
          </dl>
        </div>
      )}
      {list.data && list.data.clients.length === 0 && <Status>No API clients.</Status>}
      {list.data && list.data.clients.length > 0 && (
        <table aria-label="API clients">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Client id</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {list.data.clients.map((c) => (
              <tr key={c.clientId} data-client-id={c.clientId}>
                <td>{c.name}</td>
                <td>{c.clientId}</td>
                <td>{c.scopes.join(' ')}</td>
                <td>{new Date(c.createdAt).toLocaleString()}</td>
                <td>{c.lastUsedAt ? new Date(c.lastUsedAt).toLocaleString() : 'never'}</td>
                <td>
                  {c.revokedAt ? (
                    `revoked ${new Date(c.revokedAt).toLocaleString()}`
                  ) : (
                    <button type="button" onClick={() => revoke(c)} aria-label={`Revoke ${c.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="stack" onSubmit={create} aria-labelledby="new-client">
        <h2 id="new-client">New client</h2>
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} style={{ flexDirection: 'row', gap: '0.5rem' }}>
              <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit">Create client</button>
      </form>
    </section>
  );
}
