/**
 * `voxgate widgets add <name> --bot <bot> --origins <a,b> [--max-calls n] [--calls-per-minute n] |
 * list | revoke <key id>`: manages widget keys directly in the store (no running gateway needed).
 * The key is printed once, by `add`, with its <script> snippet, to stdout only; it is never logged.
 *
 * A revocation here reaches a running gateway within its key cache time (5 s): the CLI is not on
 * the cluster's announcement channel.
 */
import type { Logger } from '../logger.js';
import type { VoxgateConfig } from '../config/schema.js';
import { openDatabase } from '../store/database.js';
import { widgetKeyCreateSchema, WidgetKeyRepository, type WidgetKeyInfo } from '../store/widget-key-repository.js';
import { zodError } from '../api/route-schemas.js';

export const WIDGETS_USAGE = `usage: voxgate widgets add <name> --bot <bot> --origins <https://site.example,...> [--max-calls <n>] [--calls-per-minute <n>]
       voxgate widgets list
       voxgate widgets revoke <key id>
`;

export interface WidgetsCommandOptions {
  /** The words after `widgets`: [subcommand, argument]. */
  args: string[];
  bot?: string;
  /** Comma-separated exact origins (add). */
  origins?: string;
  maxCalls?: string;
  callsPerMinute?: string;
  logger?: Logger;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** What the command reads of the configuration: the store, the public URL (for the snippet), the bots. */
export type WidgetsConfig = Pick<VoxgateConfig, 'dataDir' | 'databaseUrl'> & { server: { publicUrl?: string }; bots: { name: string; isBase?: boolean }[] };

export async function runWidgetsCommand(config: WidgetsConfig, opts: WidgetsCommandOptions): Promise<number> {
  const out = opts.out ?? ((text: string) => void process.stdout.write(text));
  const err = opts.err ?? ((text: string) => void process.stderr.write(text));
  const [subcommand, argument, ...extra] = opts.args;
  const usage = (problem: string) => {
    err(`${problem}\n${WIDGETS_USAGE}`);
    return 2;
  };
  if (extra.length > 0) return usage(`unexpected argument ${extra[0]}`);
  if (subcommand === 'add') {
    if (!argument) return usage('widgets add: a key name is required');
    if (!opts.bot) return usage('widgets add: --bot is required');
    if (!opts.origins) return usage('widgets add: --origins is required');
  } else if (subcommand === 'revoke') {
    if (!argument) return usage('widgets revoke: a key id is required');
  } else if (subcommand === 'list') {
    if (argument) return usage(`widgets list: unexpected argument ${argument}`);
  } else {
    return usage(subcommand ? `unknown widgets command "${subcommand}"` : 'widgets: a command is required');
  }

  const store = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, logger: opts.logger });
  try {
    const keys = new WidgetKeyRepository(store.db);
    if (subcommand === 'add') {
      const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
      const parsed = widgetKeyCreateSchema.safeParse({
        name: argument,
        bot: opts.bot,
        origins: (opts.origins ?? '').split(',').map((o) => o.trim()).filter(Boolean),
        maxConcurrentCalls: number(opts.maxCalls),
        callsPerMinute: number(opts.callsPerMinute),
      });
      if (!parsed.success) {
        err(`widgets add: ${zodError(parsed.error)}\n`);
        return 2;
      }
      const bots = await knownBots(config, store.db);
      if (!bots.has(parsed.data.bot)) {
        err(`widgets add: bot: no bot named "${parsed.data.bot}" (known: ${[...bots].join(', ') || 'none'})\n`);
        return 2;
      }
      const created = await keys.create(parsed.data);
      opts.logger?.info({ keyId: created.key.id, name: created.key.name, bot: created.key.bot, origins: created.key.origins }, 'widget key created');
      const gateway = config.server.publicUrl ?? 'https://GATEWAY';
      out(
        `key id:  ${created.key.id}\n` +
          `key:     ${created.secret}\n` +
          `bot:     ${created.key.bot}; origins: ${created.key.origins.join(' ')}; ${created.key.maxConcurrentCalls} calls at once, ${created.key.callsPerMinute} per minute\n` +
          `The key is shown only now. Paste this on the website's pages:\n` +
          `<script src="${gateway}/widget/voxgate-widget.js" data-voxgate-key="${created.secret}" data-voxgate-url="${gateway}" async></script>\n`,
      );
      return 0;
    }
    if (subcommand === 'revoke') {
      const revoked = await keys.revoke(argument);
      if (!revoked) {
        err(`widgets revoke: no widget key ${argument}\n`);
        return 1;
      }
      opts.logger?.info({ keyId: revoked.id }, 'widget key revoked');
      out(`revoked ${revoked.id} (${revoked.name}); calls from its websites are refused within seconds\n`);
      return 0;
    }
    out(formatWidgetKeyTable(await keys.list()));
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * Bots that answer calls: the file's, and those added through the API (their names only: the
 * bodies are sealed with the gateway's key, which the CLI may not have). A bot deleted through the
 * API is still taken for known here; a call through the key is then refused with 404 naming it.
 */
async function knownBots(config: WidgetsConfig, db: Awaited<ReturnType<typeof openDatabase>>['db']): Promise<Set<string>> {
  const stored = await db.selectFrom('config_entries').select('name').where('kind', '=', 'bot').execute();
  return new Set([...config.bots.filter((b) => !b.isBase).map((b) => b.name), ...stored.map((r) => r.name)]);
}

/** A plain-text table, one key per line; no secrets exist to show. */
export function formatWidgetKeyTable(list: WidgetKeyInfo[]): string {
  if (list.length === 0) return 'no widget keys (create one with: voxgate widgets add <name> --bot <bot> --origins <https://site.example>)\n';
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const rows = [
    ['KEY ID', 'NAME', 'BOT', 'ORIGINS', 'LIMITS', 'CREATED', 'LAST USED', 'STATUS'],
    ...list.map((k) => [k.id, k.name, k.bot, k.origins.join(','), `${k.maxConcurrentCalls} at once, ${k.callsPerMinute}/min`, time(k.createdAt), time(k.lastUsedAt), k.revokedAt === null ? 'active' : `revoked ${time(k.revokedAt)}`]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
