/**
 * Run-time configuration editors: bots, routes and provider sections as JSON. The API validates a
 * change as a whole configuration; its message is shown as is. Changes apply to the next calls.
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';
import { ErrorMessage, JsonEditor } from '../components.js';
import { useLoad } from '../hooks.js';

interface BotEntry {
  name: string;
  source: string;
  bot: Record<string, unknown>;
  raw: Record<string, unknown>;
}

interface RouteEntry {
  number: string;
  bot: string;
  source: string;
}

const PROVIDER_SECTIONS = ['stt', 'tts', 'google'] as const;
const path = (s: string) => encodeURIComponent(s);

function BotsEditor() {
  const bots = useLoad((signal) => api<{ bots: BotEntry[] }>('GET', '/api/v1/bots', undefined, signal), 'bots');
  const [selected, setSelected] = useState<string>('');
  const [newName, setNewName] = useState('');
  const entry = bots.data?.bots.find((b) => b.name === selected);
  const editing = entry?.raw ?? (selected ? { name: selected, type: 'flow' } : undefined);

  return (
    <section aria-labelledby="bots-title">
      <h2 id="bots-title">Bots</h2>
      <ErrorMessage error={bots.error} />
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (newName.trim()) setSelected(newName.trim());
        }}
      >
        <label>
          Bot to edit
          <select value={entry ? selected : ''} onChange={(e) => setSelected(e.currentTarget.value)}>
            <option value="">choose a bot</option>
            {bots.data?.bots.map((b) => (
              <option key={b.name} value={b.name}>
                {b.name} ({b.source})
              </option>
            ))}
          </select>
        </label>
        <label>
          New bot name
          <input value={newName} onInput={(e) => setNewName(e.currentTarget.value)} />
        </label>
        <button type="submit">New bot</button>
      </form>
      {editing && (
        <JsonEditor
          id="bot-json"
          saveLabel="Save bot"
          label={`Bot "${selected}" (as stored; secrets show as *** and "***" keeps them)`}
          value={editing}
          onSave={async (body) => {
            const saved = await api<{ bot: unknown }>('PUT', `/api/v1/bots/${path(selected)}`, body);
            bots.reload();
            return saved ? `Saved bot "${selected}": it applies to the next calls.` : undefined;
          }}
        />
      )}
      {entry && (
        // A link, since it opens another page: the softphone with this bot chosen.
        <p>
          <a href={`#/phone/${path(selected)}`}>Talk to this bot</a>
        </p>
      )}
      {entry && (
        <button
          type="button"
          onClick={async () => {
            if (!confirm(`Delete bot ${selected}?`)) return;
            try {
              await api('DELETE', `/api/v1/bots/${path(selected)}`);
              setSelected('');
              bots.reload();
            } catch (err) {
              alert(err instanceof Error ? err.message : String(err));
            }
          }}
        >
          Delete bot
        </button>
      )}
    </section>
  );
}

function RoutesEditor() {
  const routes = useLoad((signal) => api<{ routes: RouteEntry[] }>('GET', '/api/v1/routes', undefined, signal), 'routes');
  const [number, setNumber] = useState('');
  const [bot, setBot] = useState('');
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();

  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    try {
      await api('PUT', `/api/v1/routes/${path(number)}`, { number, bot });
      setSaved(`Route ${number} -> ${bot} saved.`);
      routes.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const remove = async (route: RouteEntry) => {
    setError(undefined);
    try {
      await api('DELETE', `/api/v1/routes/${path(route.number)}`);
      routes.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section aria-labelledby="routes-title">
      <h2 id="routes-title">Routes</h2>
      <ErrorMessage error={routes.error ?? error} />
      {saved && <p role="status">{saved}</p>}
      {routes.data && (
        <table aria-label="Routes">
          <thead>
            <tr>
              <th scope="col">Called number</th>
              <th scope="col">Bot</th>
              <th scope="col">Source</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {routes.data.routes.map((r) => (
              <tr key={r.number}>
                <td>{r.number}</td>
                <td>{r.bot}</td>
                <td>{r.source}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      setNumber(r.number);
                      setBot(r.bot);
                    }}
                  >
                    Edit
                  </button>{' '}
                  <button type="button" onClick={() => remove(r)} aria-label={`Delete route ${r.number}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="filters" onSubmit={save} aria-label="Route">
        <label>
          Called number (* for any)
          <input required value={number} onInput={(e) => setNumber(e.currentTarget.value)} />
        </label>
        <label>
          Bot
          <input required value={bot} onInput={(e) => setBot(e.currentTarget.value)} />
        </label>
        <button type="submit">Save route</button>
      </form>
    </section>
  );
}

function ProvidersEditor() {
  const [section, setSection] = useState<(typeof PROVIDER_SECTIONS)[number]>('stt');
  const provider = useLoad(
    async (signal) => {
      try {
        const body = await api<Record<string, unknown>>('GET', `/api/v1/providers/${section}`, undefined, signal);
        return { value: body[section], source: String(body.source) };
      } catch (err) {
        // Not configured yet: start from an empty section.
        if (err instanceof ApiError && err.status === 404) return { value: {}, source: 'not configured' };
        throw err;
      }
    },
    section,
  );
  return (
    <section aria-labelledby="providers-title">
      <h2 id="providers-title">Speech providers</h2>
      <label>
        Section{' '}
        <select value={section} onChange={(e) => setSection(e.currentTarget.value as (typeof PROVIDER_SECTIONS)[number])}>
          {PROVIDER_SECTIONS.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <ErrorMessage error={provider.error} />
      {provider.data && (
        <>
          <p>Source: {provider.data.source}</p>
          <JsonEditor
            id="provider-json"
            saveLabel={`Save ${section}`}
            label={`Provider section "${section}" (secrets show as *** and "***" keeps them)`}
            value={provider.data.value}
            onSave={async (body) => {
              await api('PUT', `/api/v1/providers/${section}`, body);
              provider.reload();
              return `Saved ${section}: it applies to the next calls.`;
            }}
          />
        </>
      )}
    </section>
  );
}

export function ConfigPage() {
  return (
    <>
      <h1>Bots, routes and providers</h1>
      <p>Changes apply to calls that start after the save; calls in progress keep what they started with.</p>
      <BotsEditor />
      <RoutesEditor />
      <ProvidersEditor />
    </>
  );
}
