import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { ConfigError } from '../runtime/config-error.js';
import { CALL_INITIATION_PATH, configSchema, type VoxgateConfig } from './schema.js';
import { CARRIER_MODULES } from '../carriers/index.js';

export { ConfigError };

/** Environment variables and the config keys they set; they win over the file. */
const ENV_KEYS: [env: string, path: string[], kind?: 'number' | 'boolean'][] = [
  ['VOXGATE_HOST', ['server', 'host']],
  ['VOXGATE_PORT', ['server', 'port'], 'number'],
  ['VOXGATE_PUBLIC_URL', ['server', 'publicUrl']],
  ['VOXGATE_INSTANCE_ID', ['server', 'instanceId']],
  ['VOXGATE_DATA_DIR', ['dataDir']],
  ['DATABASE_URL', ['databaseUrl']],
  ['LOG_LEVEL', ['log', 'level']],
  ['DCS_RESPONSE_TOKEN', ['webhook', 'responseToken']],
  ['DCS_RESPONSE_URL', ['webhook', 'responseUrl']],
  ['VOXGATE_API_TOKEN', ['api', 'token']],
  ['VOXGATE_CALLBACK_SECRET', ['callbacks', 'secret']],
  ['REDIS_URL', ['redis', 'url']],
  ['VOXGATE_CLUSTER', ['cluster', 'enabled'], 'boolean'],
  ['VOXGATE_CLUSTER_SECRET', ['cluster', 'secret']],
  ['VOXGATE_INTERNAL_URL', ['cluster', 'internalUrl']],
  ['VOXGATE_SECRETS_KEY', ['secretsKey']],
  // The conversation-service integration's name for its HTTP TTS (seed 000): setting it selects that provider.
  ['AI_TTS_URL', ['tts', 'http', 'url']],
  // Each carrier module names its own variables.
  ...CARRIER_MODULES.flatMap((m) => m.env.map(([variable, key]): [string, string[]] => [variable, ['carriers', m.name, key]])),
];

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** The webhook bot CONVERSATION_SERVICE_URL creates. */
export const CONVERSATION_SERVICE_BOT = 'conversation-service';

/**
 * Seed 000's DCS_URL is where the conversation service sends call initiation to the dialer
 * connector, and Voxgate is the dialer connector: so it must name Voxgate's own dialout endpoint.
 * It once named the conversation service instead; such a value is refused, never re-read the other
 * way round, since a brain's URL taken as Voxgate's (or the reverse) would misroute every call.
 */
function callInitiationUrlFromDcsUrl(value: string): string {
  let path: string;
  try {
    path = new URL(value).pathname.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`DCS_URL ${JSON.stringify(value)} is not a valid absolute URL; it names Voxgate's call-initiation endpoint, <publicUrl>${CALL_INITIATION_PATH}`);
  }
  if (!path.endsWith(CALL_INITIATION_PATH)) {
    throw new ConfigError(
      `DCS_URL ${JSON.stringify(value)} does not name Voxgate's call-initiation endpoint (<publicUrl>${CALL_INITIATION_PATH}). ` +
        `DCS_URL is where the conversation service initiates calls on Voxgate (seed 000, docs/dcs.md); ` +
        `if this is the conversation service's own URL, set CONVERSATION_SERVICE_URL=${value} instead.`,
    );
  }
  return value;
}

function describe(err: ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const key = i.path.length ? i.path.join('.') : '(top level)';
    return `  ${key}: ${i.message}`;
  });
  return `invalid configuration (${source}):\n${lines.join('\n')}`;
}

/** 1/true/yes/on or 0/false/no/off; anything else is refused by name. */
function envBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}=${JSON.stringify(value)}: expected 1/true/yes/on or 0/false/no/off`);
}

/** Validates a raw config object; throws ConfigError naming each bad key. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = {}, source = 'config'): VoxgateConfig {
  const merged: Record<string, unknown> = raw && typeof raw === 'object' ? structuredClone(raw as Record<string, unknown>) : {};
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) throw new ConfigError(`invalid configuration (${source}): the top level must be a mapping of keys`);
  const used: string[] = [];
  for (const [name, path, kind] of ENV_KEYS) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(merged, path, kind === 'number' ? Number(value) : kind === 'boolean' ? envBoolean(name, value) : value);
    used.push(name);
  }
  // The conversation service's own URL (docs/dcs.md): a webhook bot answering every number unless routes say otherwise.
  if (env.CONVERSATION_SERVICE_URL) {
    const bots = (merged.bots ??= []) as Record<string, unknown>[];
    if (Array.isArray(bots) && !bots.some((b) => b?.name === CONVERSATION_SERVICE_BOT)) {
      if (!('routes' in merged)) merged.routes = [{ number: '*', bot: CONVERSATION_SERVICE_BOT }];
      bots.push({ name: CONVERSATION_SERVICE_BOT, type: 'webhook', webhook: { url: env.CONVERSATION_SERVICE_URL } });
    }
    used.push('CONVERSATION_SERVICE_URL');
  }
  if (env.DCS_URL) {
    setPath(merged, ['webhook', 'callInitiationUrl'], callInitiationUrlFromDcsUrl(env.DCS_URL));
    used.push('DCS_URL');
  }
  if (used.includes('AI_TTS_URL')) {
    const tts = merged.tts as Record<string, unknown>;
    tts.provider ??= 'http';
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(describe(result.error, used.length ? `${source} + env ${used.join(', ')}` : source));
  return result.data;
}

/** Reads the YAML file (when given) and applies the environment on top. */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<VoxgateConfig> {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
    }
  }
  return parseConfig(raw, env, path ?? 'built-in defaults');
}
