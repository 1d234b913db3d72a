/**
 * The management API's OAuth scopes. Every /api route declares exactly one of these in
 * `config.scope`; a client is granted a set of them, and `admin` stands for all of them.
 */
export const SCOPES = [
  'bots:read',
  'bots:write',
  'providers:read',
  'providers:write',
  'routes:read',
  'routes:write',
  'dialout',
  'calls:read',
  /** Place a call from the console's softphone (a browser call to any bot). */
  'calls:web',
  'campaigns:read',
  'campaigns:write',
  'alarms:read',
  'alarms:write',
  'widgets:read',
  'widgets:write',
  'clients:read',
  'clients:write',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

const known: ReadonlySet<string> = new Set(SCOPES);

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && known.has(value);
}

/** True when `granted` covers `needed`: listed explicitly, or through `admin`. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

/** The scopes of `wanted` that `granted` does not cover: what a caller may not grant, nor revoke from others. */
export function scopesBeyond(granted: readonly string[], wanted: readonly Scope[]): Scope[] {
  return wanted.filter((s) => !hasScope(granted, s));
}

/** The entries of `list` that are not scopes, for an error message naming them. */
export function unknownScopes(list: readonly string[]): string[] {
  return list.filter((s) => !known.has(s));
}

/** Scope names without duplicates, in the canonical order of SCOPES (stable token and list output). */
export function normalizeScopes(list: readonly Scope[]): Scope[] {
  const wanted = new Set(list);
  return SCOPES.filter((s) => wanted.has(s));
}
