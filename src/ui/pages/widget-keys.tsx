/**
 * Widget keys: the public keys websites embed to call one bot from their pages. List, create (the key
 * and its ready-to-paste <script> snippet are shown once), edit origins and limits, revoke.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorMessage, Status } from '../components.js';
import { formatTime, useLoad } from '../hooks.js';
import type { WidgetKey } from '../types.js';

/** The tag a website pastes: the widget script from this gateway, with the key. */
export function widgetSnippet(gateway: string, secret: string): string {
  return `<script src="${gateway}/widget/voxgate-widget.js" data-voxgate-key="${secret}" data-voxgate-url="${gateway}" async></script>`;
}

/** One origin per line (or comma-separated), blanks dropped: the API names any that is not exact. */
function originList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((o) => o.trim())
    .filter(Boolean);
}

const time = (iso: string | null) => (iso ? formatTime(Date.parse(iso)) : 'never');

export function WidgetKeysPage() {
  const list = useLoad((signal) => api<{ keys: WidgetKey[] }>('GET', '/api/v1/widget-keys', undefined, signal), 'widget-keys');
  // Bot names for the form's suggestions; without bots:read the field is typed by hand.
  const bots = useLoad((signal) => api<{ bots: { name: string }[] }>('GET', '/api/v1/bots', undefined, signal), 'widget-key-bots');
  const [created, setCreated] = useState<{ key: WidgetKey; secret: string }>();
  const [editing, setEditing] = useState<WidgetKey>();
  const [error, setError] = useState<string>();

  /** Runs an API action; its refusal is shown. Resolves whether it succeeded (forms keep their input if not). */
  const attempt = async (action: () => Promise<void>): Promise<boolean> => {
    setError(undefined);
    try {
      await action();
      list.reload();
      return true;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    }
  };

  const revoke = (key: WidgetKey) => {
    if (!confirm(`Revoke widget key ${key.name} (${key.id})? Calls from its websites are refused from now on.`)) return;
    void attempt(async () => {
      await api('POST', `/api/v1/widget-keys/${encodeURIComponent(key.id)}/revoke`);
      if (editing?.id === key.id) setEditing(undefined);
    });
  };

  return (
    <section aria-labelledby="widget-keys-title">
      <h1 id="widget-keys-title">Widget keys</h1>
      <p>A widget key lets the pages of the websites it lists call one bot with the embeddable widget, within its limits.</p>
      <ErrorMessage error={list.error ?? error} />
      {created && <CreatedKey created={created} />}
      {list.data && list.data.keys.length === 0 && <Status>No widget keys.</Status>}
      {list.data && list.data.keys.length > 0 && (
        <table aria-label="Widget keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Bot</th>
              <th scope="col">Origins</th>
              <th scope="col">Limits</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {list.data.keys.map((k) => (
              <tr key={k.id} data-widget-key-id={k.id}>
                <td>
                  {k.name}
                  <br />
                  <small>{k.id}</small>
                </td>
                <td>{k.bot}</td>
                <td>{k.origins.join(' ')}</td>
                <td>
                  {k.maxConcurrentCalls} at once, {k.callsPerMinute}/min
                </td>
                <td>{time(k.createdAt)}</td>
                <td>{time(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt ? (
                    `revoked ${time(k.revokedAt)}`
                  ) : (
                    <>
                      active{' '}
                      <button type="button" onClick={() => setEditing(k)} aria-label={`Edit ${k.name}`}>
                        Edit
                      </button>{' '}
                      <button type="button" onClick={() => revoke(k)} aria-label={`Revoke ${k.name}`}>
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <EditKey
          key={editing.id}
          widgetKey={editing}
          onSave={(edit) =>
            attempt(async () => {
              await api('PATCH', `/api/v1/widget-keys/${encodeURIComponent(editing.id)}`, edit);
              setEditing(undefined);
            })
          }
          onCancel={() => setEditing(undefined)}
        />
      )}
      <CreateKey
        botNames={bots.data?.bots.map((b) => b.name) ?? []}
        onCreate={(body) =>
          attempt(async () => {
            setCreated(undefined);
            setCreated(await api<{ key: WidgetKey; secret: string }>('POST', '/api/v1/widget-keys', body));
          })
        }
      />
    </section>
  );
}

function CreatedKey({ created }: { created: { key: WidgetKey; secret: string } }) {
  const snippet = widgetSnippet(location.origin, created.secret);
  const [copied, setCopied] = useState<string>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(snippet);
      setCopied('Copied.');
    } catch {
      setCopied('Copying is not allowed here: select the snippet and copy it.');
    }
  };
  return (
    <div role="status" class="secret">
      <p>
        Widget key <strong>{created.key.name}</strong> created. Copy the key now: it is not shown again.
      </p>
      <dl>
        <dt>Key</dt>
        <dd data-testid="created-widget-secret">{created.secret}</dd>
        <dt>Snippet for the website</dt>
        <dd>
          <pre data-testid="created-widget-snippet" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
            {snippet}
          </pre>
          <button type="button" onClick={() => void copy()}>
            Copy snippet
          </button>{' '}
          {copied}
        </dd>
      </dl>
    </div>
  );
}

interface KeyFields {
  name: string;
  bot: string;
  origins: string[];
  maxConcurrentCalls: number;
  callsPerMinute: number;
}

function CreateKey({ botNames, onCreate }: { botNames: string[]; onCreate: (body: KeyFields) => Promise<boolean> }) {
  const [name, setName] = useState('');
  const [bot, setBot] = useState('');
  const [origins, setOrigins] = useState('');
  const [maxConcurrentCalls, setMax] = useState('5');
  const [callsPerMinute, setPerMinute] = useState('20');
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!(await onCreate({ name, bot, origins: originList(origins), maxConcurrentCalls: Number(maxConcurrentCalls), callsPerMinute: Number(callsPerMinute) }))) return;
    setName('');
    setOrigins('');
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="new-widget-key">
      <h2 id="new-widget-key">New widget key</h2>
      <label>
        Name
        <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Bot
        <input required list="widget-key-bots" value={bot} onInput={(e) => setBot(e.currentTarget.value)} />
      </label>
      <datalist id="widget-key-bots">
        {botNames.map((b) => (
          <option key={b} value={b} />
        ))}
      </datalist>
      <AccessFields originsLabel="Allowed origins (one per line, e.g. https://www.example.com)" {...{ origins, setOrigins, maxConcurrentCalls, setMax, callsPerMinute, setPerMinute }} />
      <button type="submit">Create widget key</button>
    </form>
  );
}

/** Who may use a key and how much: the fields creating and editing a key share. */
function AccessFields(props: {
  originsLabel: string;
  origins: string;
  setOrigins: (v: string) => void;
  maxConcurrentCalls: string;
  setMax: (v: string) => void;
  callsPerMinute: string;
  setPerMinute: (v: string) => void;
}) {
  return (
    <>
      <label>
        {props.originsLabel}
        <textarea required rows={3} value={props.origins} onInput={(e) => props.setOrigins(e.currentTarget.value)} />
      </label>
      <label>
        Calls at once
        <input type="number" min={1} required value={props.maxConcurrentCalls} onInput={(e) => props.setMax(e.currentTarget.value)} />
      </label>
      <label>
        Calls per minute
        <input type="number" min={1} required value={props.callsPerMinute} onInput={(e) => props.setPerMinute(e.currentTarget.value)} />
      </label>
    </>
  );
}

function EditKey({ widgetKey, onSave, onCancel }: { widgetKey: WidgetKey; onSave: (edit: Partial<KeyFields>) => Promise<boolean>; onCancel: () => void }) {
  const [origins, setOrigins] = useState(widgetKey.origins.join('\n'));
  const [maxConcurrentCalls, setMax] = useState(String(widgetKey.maxConcurrentCalls));
  const [callsPerMinute, setPerMinute] = useState(String(widgetKey.callsPerMinute));
  const submit = (event: Event) => {
    event.preventDefault();
    void onSave({ origins: originList(origins), maxConcurrentCalls: Number(maxConcurrentCalls), callsPerMinute: Number(callsPerMinute) });
  };
  return (
    <form class="stack" onSubmit={submit} aria-labelledby="edit-widget-key">
      <h2 id="edit-widget-key">Edit {widgetKey.name}</h2>
      <AccessFields originsLabel="Allowed origins" {...{ origins, setOrigins, maxConcurrentCalls, setMax, callsPerMinute, setPerMinute }} />
      <div>
        <button type="submit">Save changes</button>{' '}
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
