/** Carrier webhooks arrive form-encoded; both helpers keep repeated keys, which signatures cover. */

export type FormParams = Record<string, string | string[]>;

/** The body of an application/x-www-form-urlencoded callback; repeated keys stay arrays. */
export function parseForm(body: string): FormParams {
  const out: FormParams = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  return out;
}

/** The first value of a parameter, whether it came once or repeated. */
export function first(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}
