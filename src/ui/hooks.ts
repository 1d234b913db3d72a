/** Small data hooks shared by the pages. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads with `load` when `key` changes and, with `everyMs`, again on that period (live views).
 * A slow answer never overwrites a newer one: each load carries a generation number.
 */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  // Answers are kept with the key they were loaded for: a page never shows another key's data.
  const [answer, setAnswer] = useState<{ key: string; data?: T; error?: string } | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  useEffect(() => {
    const controller = new AbortController();
    const mine = ++generation.current;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (mine !== generation.current) return;
        setAnswer({ key, data: value });
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted || mine !== generation.current) return;
        const error = err instanceof Error ? err.message : String(err);
        // A failed refresh keeps the last data for this key next to the error.
        setAnswer((last) => ({ key, data: last?.key === key ? last.data : undefined, error }));
      })
      .finally(() => {
        if (mine !== generation.current || controller.signal.aborted) return;
        setLoading(false);
        // The next refresh is timed from this answer, so a slow API is never asked twice at once.
        if (everyMs !== undefined) timer = setTimeout(() => setTick((t) => t + 1), everyMs);
      });
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [key, tick, everyMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = answer?.key === key ? answer : undefined;
  return { data: current?.data, error: current?.error, loading, reload };
}

export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString();
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
