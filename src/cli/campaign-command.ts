/**
 * `voxgate campaign run <contacts.csv> --campaign <campaign.yaml>`: runs the gateway (as `serve`
 * does: carriers reach it for the calls), creates the campaign, and stays until it is over. With
 * --watch a progress bar shows the contacts done and the counts by outcome; --results writes the
 * results CSV at the end. Ctrl-C stops the process; the campaign stays in the store and carries on
 * when Voxgate starts again (no contact lost, no attempt dialed twice).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import { startGateway, type Gateway } from '../app/gateway.js';
import { ConfigError } from '../runtime/config-error.js';
import type { VoxgateConfig } from '../config/schema.js';
import { CampaignDefinitionError } from '../dialer/campaign-definition.js';
import { ContactListError, parseContactsCsv } from '../dialer/campaign-contacts.js';
import type { CampaignProgress } from '../store/campaign-repository.js';

export interface CampaignRunOptions {
  contactsPath: string;
  campaignPath: string;
  watch: boolean;
  resultsPath?: string;
  logger: Logger;
  out?: (text: string) => void;
  /** Redraw the bar in place (a terminal) instead of printing a line per change. */
  interactive?: boolean;
  /** Resolves when the user wants to stop (Ctrl-C); default SIGINT/SIGTERM. */
  interrupted?: Promise<void>;
  /** Called once the gateway is up (tests: register numbers with a simulator). */
  onGateway?: (gateway: Gateway) => void;
}

const BAR_WIDTH = 24;

/** One line: bar, contacts done, contact outcomes, attempts. */
export function progressLine(p: CampaignProgress): string {
  const total = p.contacts.total || 1;
  const done = p.contacts.done + p.contacts.skipped;
  const filled = Math.round((done / total) * BAR_WIDTH);
  const outcomes = Object.entries(p.contactOutcomes)
    .filter(([, n]) => n)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${p.contacts.total} contacts${outcomes ? ` (${outcomes})` : ''} | attempts ${p.attempts.total}, ${p.attempts.active} in progress | ${p.status}`;
}

async function readDefinition(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read campaign file ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) as unknown; // JSON is YAML too
  } catch (err) {
    throw new ConfigError(`campaign file ${path} is not valid YAML or JSON: ${(err as Error).message}`);
  }
}

export async function runCampaign(config: VoxgateConfig, opts: CampaignRunOptions): Promise<number> {
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  const definition = await readDefinition(opts.campaignPath);
  let contacts;
  try {
    contacts = parseContactsCsv(await readFile(opts.contactsPath));
  } catch (err) {
    if (err instanceof ContactListError) throw new ConfigError(`${opts.contactsPath}: ${err.message}`);
    throw new ConfigError(`cannot read contact list ${opts.contactsPath}: ${(err as Error).message}`);
  }

  const gateway = await startGateway(config, { logger: opts.logger });
  opts.onGateway?.(gateway);
  try {
    let id: string;
    try {
      id = (await gateway.campaigns.create(definition, contacts)).id;
    } catch (err) {
      if (err instanceof CampaignDefinitionError) throw new ConfigError(`${opts.campaignPath}: ${err.message}`);
      throw err;
    }
    out(`campaign ${id} started: ${contacts.length} contacts from ${opts.contactsPath} (gateway ${gateway.publicUrl})\n`);

    let last = '';
    const show = async () => {
      const p = await gateway.campaigns.progress(id);
      if (!p || !opts.watch) return p;
      const line = progressLine(p);
      if (line !== last) out(opts.interactive ? `\r\x1b[2K${line}` : `${line}\n`);
      last = line;
      return p;
    };
    const over = new Promise<'over'>((resolve) => {
      gateway.campaigns.onEvent((e) => {
        if (e.campaignId !== id) return;
        void show();
        if (e.type === 'campaign.status' && (e.status === 'completed' || e.status === 'cancelled')) resolve('over');
      });
    });
    const interrupted = (opts.interrupted ?? signalled()).then(() => 'interrupted' as const);
    const why = await Promise.race([over, interrupted]);
    const final = await show();
    if (opts.watch && opts.interactive) out('\n');
    if (why === 'interrupted') {
      out(`stopped; campaign ${id} stays ${final?.status ?? 'running'} in the store and carries on when Voxgate starts again\n`);
      return 130;
    }
    if (final) out(`campaign ${id} ${final.status}${final.result ? `: ${final.result}${final.acceptedBy ? ` by ${final.acceptedBy.name ?? final.acceptedBy.phone}` : ''}` : ''}\n`);
    if (opts.resultsPath) {
      await writeFile(opts.resultsPath, await gateway.campaigns.exportCsv(id));
      out(`results written to ${opts.resultsPath}\n`);
    }
    return 0;
  } finally {
    await gateway.close();
  }
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
