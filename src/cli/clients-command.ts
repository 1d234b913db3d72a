/**
 * `voxgate clients add <name> --scopes a,b | list | revoke <id>`: manages the management API's
 * OAuth clients directly in the store (no running gateway needed, e.g. to create the first
 * client). The secret is printed once, by `add`, to stdout only; it is never logged.
 */
import type { Logger } from '../logger.js';
import { OAuthClientInputError, OAuthClientRepository, type OAuthClientInfo } from '../api/auth/client-repository.js';
import { SCOPES } from '../api/auth/scopes.js';
import { openDatabase } from '../store/database.js';

export const CLIENTS_USAGE = `usage: voxgate clients add <name> --scopes <scope,scope...>
       voxgate clients list
       voxgate clients revoke <client_id>
scopes: ${SCOPES.join(', ')} (admin implies all)
`;

export interface ClientsCommandOptions {
  /** The words after `clients`: [subcommand, argument]. */
  args: string[];
  /** --scopes, comma-separated (add). */
  scopes?: string;
  logger?: Logger;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** Where the store is: the `dataDir` and `databaseUrl` of the loaded configuration. */
export interface ClientsStoreLocation {
  dataDir: string;
  databaseUrl?: string;
}

export async function runClientsCommand(location: ClientsStoreLocation, opts: ClientsCommandOptions): Promise<number> {
  const out = opts.out ?? ((text: string) => void process.stdout.write(text));
  const err = opts.err ?? ((text: string) => void process.stderr.write(text));
  const [subcommand, argument, ...extra] = opts.args;
  const usage = (problem: string) => {
    err(`${problem}\n${CLIENTS_USAGE}`);
    return 2;
  };
  if (extra.length > 0) return usage(`unexpected argument ${extra[0]}`);
  if (subcommand === 'add') {
    if (!argument) return usage('clients add: a client name is required');
    if (!opts.scopes) return usage('clients add: --scopes is required');
  } else if (subcommand === 'revoke') {
    if (!argument) return usage('clients revoke: a client id is required');
  } else if (subcommand === 'list') {
    if (argument) return usage(`clients list: unexpected argument ${argument}`);
  } else {
    return usage(subcommand ? `unknown clients command "${subcommand}"` : 'clients: a command is required');
  }

  const store = await openDatabase({ dataDir: location.dataDir, databaseUrl: location.databaseUrl, logger: opts.logger });
  try {
    const clients = new OAuthClientRepository(store.db);
    if (subcommand === 'add') {
      const scopes = (opts.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      try {
        const created = await clients.create({ name: argument, scopes });
        opts.logger?.info({ clientId: created.client.clientId, name: created.client.name, scopes: created.client.scopes }, 'OAuth API client created');
        out(
          `client_id:     ${created.client.clientId}\n` +
            `client_secret: ${created.clientSecret}\n` +
            `scopes:        ${created.client.scopes.join(' ')}\n` +
            `The secret is shown only now: store it safely. Get tokens with POST /oauth/token (grant_type=client_credentials).\n`,
        );
        return 0;
      } catch (e) {
        if (e instanceof OAuthClientInputError) {
          err(`clients add: ${e.message}\n`);
          return 2;
        }
        throw e;
      }
    }
    if (subcommand === 'revoke') {
      const revoked = await clients.revoke(argument);
      if (!revoked) {
        err(`clients revoke: no API client ${argument}\n`);
        return 1;
      }
      opts.logger?.info({ clientId: revoked.clientId }, 'OAuth API client revoked');
      out(`revoked ${revoked.clientId} (${revoked.name}); its access tokens stop working within seconds\n`);
      return 0;
    }
    out(formatClientTable(await clients.list()));
    return 0;
  } finally {
    await store.close();
  }
}

/** A plain-text table, one client per line; no secrets exist to show. */
export function formatClientTable(list: OAuthClientInfo[]): string {
  if (list.length === 0) return 'no API clients (create one with: voxgate clients add <name> --scopes ...)\n';
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const rows = [
    ['CLIENT ID', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'STATUS'],
    ...list.map((c) => [c.clientId, c.name, c.scopes.join(','), time(c.createdAt), time(c.lastUsedAt), c.revokedAt === null ? 'active' : `revoked ${time(c.revokedAt)}`]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}
