/** Small shared pieces: error and status messages, a JSON editor with the API's validation message. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function ErrorMessage({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p role="alert" class="error">
      {error}
    </p>
  );
}

export function Status({ children }: { children: ComponentChildren }) {
  return (
    <p role="status" class="status">
      {children}
    </p>
  );
}

export interface JsonEditorProps {
  id: string;
  label: string;
  /** The save button's text, so each editor's button has its own accessible name. */
  saveLabel: string;
  value: unknown;
  /** Sends the parsed JSON; a rejection's message is shown under the editor. */
  onSave: (value: unknown) => Promise<string | void>;
}

/** A JSON textarea: parse errors and the API's validation message are shown as they come. */
export function JsonEditor({ id, label, saveLabel, value, onSave }: JsonEditorProps) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const serialized = JSON.stringify(value, null, 2);
  // A reload after a save brings the stored value back: the text follows it, the message stays.
  useEffect(() => setText(serialized), [serialized]);

  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      setError(`JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    setBusy(true);
    try {
      setSaved((await onSave(parsed)) || 'Saved.');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={save} class="json-editor">
      <label for={id}>{label}</label>
      <textarea id={id} rows={16} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} aria-describedby={`${id}-message`} />
      <div id={`${id}-message`}>
        <ErrorMessage error={error} />
        {saved && <Status>{saved}</Status>}
      </div>
      <button type="submit" disabled={busy}>
        {saveLabel}
      </button>
    </form>
  );
}
