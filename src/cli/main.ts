/** `voxgate` command line: serve | demo | campaign run | clients | widgets. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { startGateway } from '../app/gateway.js';
import { createLogger } from '../logger.js';
import { runDemo } from './demo.js';
import { DEMO_CARRIERS, type DemoCarrierName } from './demo-carrier.js';
import { runCampaign } from './campaign-command.js';
import { runClientsCommand } from './clients-command.js';
import { runWidgetsCommand } from './widgets-command.js';

const USAGE = `voxgate <command> [options]

Commands:
  serve   Run the gateway (carrier webhooks, media streams, bots).
  demo    Run the gateway with a local carrier simulator (Plivo, Twilio with --carrier twilio, or a
          SIP trunk with --carrier sip): one scripted inbound call, then the seed 002 escalation
          campaign (outbound calls to three virtual employees).

  campaign run <contacts.csv> --campaign <campaign.yaml> [--watch] [--results out.csv]
          Run the gateway and one outbound campaign until it is over.
  clients add <name> --scopes a,b | clients list | clients revoke <client id>
          Manage OAuth API clients (the secret is printed once, on add).
  widgets add <name> --bot <bot> --origins <a,b> | widgets list | widgets revoke <key id>
          Manage widget keys for websites (the key and its <script> snippet are printed once, on add).

Options:
  -c, --config <file>   YAML configuration file (env VOXGATE_CONFIG); defaults are built in
  -p, --port <n>        Listen port (serve: 8080; demo: any free port)
      --exit            demo: exit when the call is over instead of serving on
      --wav <file>      demo: where to write what the caller heard (default demo-caller.wav)
      --carrier <name>  demo: the carrier the simulator plays, plivo (default), twilio or sip
      --campaign <file>  campaign run: the campaign definition (YAML or JSON; see docs/campaigns.md)
      --watch            campaign run: show a live progress bar
      --results <file>   campaign run: write the results CSV here at the end
      --scopes <list>    clients add: comma-separated scopes (calls:read, dialout, admin...)
      --bot <name>       widgets add: the bot the key calls
      --origins <list>   widgets add: comma-separated exact origins (https://www.example.com)
  -h, --help            Show this help (voxgate <command> --help: that command's)
  -v, --version         Print the version
`;

const CONFIG_OPTIONS = `  -c, --config <file>   YAML configuration file (env VOXGATE_CONFIG); defaults are built in
  -p, --port <n>        Listen port (env VOXGATE_PORT)`;

/** What `voxgate <command> --help` prints. */
const COMMAND_HELP: Record<string, string> = {
  serve: `voxgate serve [options]

Runs the gateway: carrier webhooks and media streams, bots, the management API and the console
(/console/). SIGTERM drains live calls first (up to server.drainTimeoutMs); SIGINT stops at once.

Options:
${CONFIG_OPTIONS} (default 8080)
`,
  demo: `voxgate demo [options]

Runs the gateway with a local carrier simulator: one scripted inbound call, then the seed 002
escalation campaign (outbound calls to three virtual employees), and prints their timelines.

Options:
${CONFIG_OPTIONS} (default: any free port)
      --carrier <name>  the carrier the simulator plays: plivo (default), twilio or sip
      --wav <file>      where to write what the caller heard (default demo-caller.wav)
      --exit            exit when the demo is over instead of serving on
`,
  campaign: `voxgate campaign run <contacts.csv> --campaign <campaign.yaml> [options]

Runs the gateway and one outbound campaign until it is over (docs/campaigns.md).

Options:
${CONFIG_OPTIONS}
      --campaign <file>  the campaign definition (YAML or JSON)
      --watch            show a live progress bar
      --results <file>   write the results CSV here at the end
`,
  clients: `voxgate clients add <name> --scopes a,b | clients list | clients revoke <client id>

Manages the OAuth clients of the management API in the configured store. The secret is printed
once, on add.

Options:
  -c, --config <file>   YAML configuration file (env VOXGATE_CONFIG)
      --scopes <list>   add: comma-separated scopes (calls:read, dialout, admin...)
`,
  widgets: `voxgate widgets add <name> --bot <bot> --origins <a,b> [--max-calls <n>] [--calls-per-minute <n>]
voxgate widgets list | widgets revoke <key id>

Manages the widget keys websites embed to call one bot (docs/widget-keys.md), in the configured
store. The key and its <script> snippet are printed once, on add.

Options:
  -c, --config <file>         YAML configuration file (env VOXGATE_CONFIG)
      --bot <name>            add: the bot the key calls
      --origins <list>        add: comma-separated exact origins (https://www.example.com)
      --max-calls <n>         add: calls at once (default 5)
      --calls-per-minute <n>  add: calls started per minute (default 20)
`,
};

/** The package's version, read from the package.json beside src/ and dist/. */
export function voxgateVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        exit: { type: 'boolean', default: false },
        wav: { type: 'string' },
        carrier: { type: 'string' },
        campaign: { type: 'string' },
        watch: { type: 'boolean', default: false },
        results: { type: 'string' },
        scopes: { type: 'string' },
        bot: { type: 'string' },
        origins: { type: 'string' },
        'max-calls': { type: 'string' },
        'calls-per-minute': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.version) {
    process.stdout.write(`voxgate ${voxgateVersion()}\n`);
    return 0;
  }
  if (values.help && command && COMMAND_HELP[command]) {
    process.stdout.write(COMMAND_HELP[command]);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const env = { ...process.env };
  if (values.port !== undefined) env.VOXGATE_PORT = values.port;
  try {
    const config = await loadConfig(values.config ?? process.env.VOXGATE_CONFIG, env);
    if (command === 'serve') return await serve(config);
    if (command === 'campaign') {
      if (positionals[1] !== 'run' || !positionals[2] || !values.campaign) {
        process.stderr.write(`usage: voxgate campaign run <contacts.csv> --campaign <campaign.yaml> [--watch] [--results out.csv]\n`);
        return 2;
      }
      const logger = createLogger({ level: config.log.level, destination: process.stderr });
      return await runCampaign(config, { contactsPath: positionals[2], campaignPath: values.campaign, watch: values.watch, resultsPath: values.results, logger, interactive: process.stdout.isTTY });
    }
    if (command === 'clients') {
      return await runClientsCommand(config, { args: positionals.slice(1), scopes: values.scopes, logger: createLogger({ level: 'warn', destination: process.stderr }) });
    }
    if (command === 'widgets') {
      return await runWidgetsCommand(config, { args: positionals.slice(1), bot: values.bot, origins: values.origins, maxCalls: values['max-calls'], callsPerMinute: values['calls-per-minute'], logger: createLogger({ level: 'warn', destination: process.stderr }) });
    }
    if (command === 'demo') {
      const carrier = values.carrier ?? 'plivo';
      if (!isDemoCarrier(carrier)) {
        process.stderr.write(`--carrier "${carrier}": expected one of ${DEMO_CARRIERS.join(', ')}\n`);
        return 2;
      }
      return await runDemo(config, { exit: values.exit, wavPath: values.wav ?? 'demo-caller.wav', portGiven: values.port !== undefined, carrier });
    }
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    const hint = startupHint(err);
    if (hint) {
      process.stderr.write(`voxgate ${command}: ${(err as Error).message}\n${hint}\n`);
      return 1;
    }
    throw err;
  }
}

/** What to do about a failure to start listening, for the errors a newcomer meets first. */
function startupHint(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const port = (err as { port?: number } | undefined)?.port;
  if (code === 'EADDRINUSE') return `the port${port ? ` ${port}` : ''} is taken by another process: choose another with -p <port> or VOXGATE_PORT, or stop the other process`;
  if (code === 'EACCES') return `no permission to listen there${port ? ` (port ${port})` : ''}: ports below 1024 need root; choose another with -p <port> or VOXGATE_PORT`;
  if (code === 'EADDRNOTAVAIL') return 'the configured server.host is not an address of this machine (VOXGATE_HOST; 0.0.0.0 listens on every interface)';
  return undefined;
}

function isDemoCarrier(name: string): name is DemoCarrierName {
  return (DEMO_CARRIERS as readonly string[]).includes(name);
}

async function serve(config: Parameters<typeof startGateway>[0]): Promise<number> {
  const logger = createLogger({ level: config.log.level });
  const gateway = await startGateway(config, { logger });
  // SIGTERM (an orchestrator's stop) drains; SIGINT, or a second signal during the drain, closes at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (signal === 'SIGTERM') {
    logger.info({ liveCalls: gateway.calls.size, drainTimeoutMs: config.server.drainTimeoutMs }, `draining: ${gateway.calls.size} live calls, up to ${Math.round(config.server.drainTimeoutMs / 1000)} s`);
    const interrupted = new Promise<'interrupted'>((resolve) => {
      const now = () => resolve('interrupted');
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
    });
    const outcome = await Promise.race([gateway.drain(), interrupted]);
    if (outcome === 'interrupted') {
      logger.warn({ liveCalls: gateway.calls.size }, 'second signal during the drain: closing at once');
    } else {
      const finished = outcome.liveAtStart - outcome.hungUp;
      logger.info({ ...outcome }, outcome.hungUp === 0 ? `drained: ${finished} calls finished in ${Math.round(outcome.waitedMs / 1000)} s` : `drain deadline passed: ${finished} calls finished, ${outcome.hungUp} hung up`);
    }
  }
  logger.info('shutting down');
  await gateway.close();
  return 0;
}
