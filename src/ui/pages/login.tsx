/** Log in with the static admin token or an OAuth client's id and secret; the token lives in sessionStorage. */
import { useState } from 'preact/hooks';
import { checkToken, fetchClientToken, setToken } from '../api.js';
import { ErrorMessage } from '../components.js';

export function LoginPage() {
  const [adminToken, setAdminToken] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (event: Event, getToken: () => Promise<string>) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setToken(await getToken());
    } catch (err) {
      setError(`Login failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main>
      <h1>Voxgate console</h1>
      <ErrorMessage error={error} />
      <form
        class="stack"
        aria-labelledby="admin-login"
        onSubmit={(e) =>
          run(e, async () => {
            const token = adminToken.trim();
            await checkToken(token);
            return token;
          })
        }
      >
        <h2 id="admin-login">Admin token</h2>
        <label>
          Token (api.token)
          <input type="password" autocomplete="off" required value={adminToken} onInput={(e) => setAdminToken(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Log in with token
        </button>
      </form>
      <form class="stack" aria-labelledby="client-login" onSubmit={(e) => run(e, () => fetchClientToken(clientId.trim(), clientSecret))}>
        <h2 id="client-login">API client</h2>
        <label>
          Client id
          <input autocomplete="username" required value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} />
        </label>
        <label>
          Client secret
          <input type="password" autocomplete="current-password" required value={clientSecret} onInput={(e) => setClientSecret(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Log in with client
        </button>
      </form>
    </main>
  );
}
