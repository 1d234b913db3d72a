/**
 * Campaign fixtures: the seed 002 escalation flow as a campaign definition, and a runner on a
 * FakeClock with a scripted placer, stopped (and its campaigns cancelled) by `dispose`.
 */
import type { CampaignDefinitionInput } from '../../src/dialer/campaign-definition.js';
import { CampaignRunner, type CampaignRunnerEvent } from '../../src/dialer/campaign-runner.js';
import { silentLogger } from '../../src/logger.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import type { Store } from '../../src/store/database.js';
import { recordingNotifier, ScriptedCallPlacer, type CalleeScript } from './campaign-doubles.js';
import { FakeClock } from './fake-clock.js';

export const ALICE = '+15550000001';
export const BOB = '+15550000002';
export const CAROL = '+15550000003';
export const DAVE = '+15550000004';

/** Seed 002: a ticket offered to employees in order; menu repeated once after 10 s; 3 attempts each; stop at the first accept. */
export function seed002Campaign(overrides: Partial<CampaignDefinitionInput> = {}): CampaignDefinitionInput {
  return {
    name: 'Ticket INC-4711 on-call escalation',
    caller: '+15550001000',
    dialPlan: {
      verbs: [
        { type: 'SAY', message: { text: 'Hello ${name}. Ticket ${ticket}: ${summary}. Press 1 to accept, 2 to reject.' }, bargeIn: true },
        { type: 'COLLECT', maxDigits: 1, timeout: 10 },
        { type: 'SAY', message: { text: 'Press 1 to accept ticket ${ticket}, 2 to reject.' }, bargeIn: true },
        { type: 'COLLECT', maxDigits: 1, timeout: 10 },
        { type: 'SAY', message: { text: 'No answer received. Goodbye.' } },
      ],
    },
    attemptsPerContact: 3,
    retrySpacingSec: 60,
    escalation: 'sequential',
    outcomes: { accepted: ['1'], rejected: ['2'] },
    pacing: { callsPerSecond: 1, maxConcurrent: 1 },
    callback: { url: 'https://ops.example.com/escalations' },
    variables: { ticket: 'INC-4711', summary: 'database disk full' },
    contacts: [
      { phone: ALICE, name: 'Alice' },
      { phone: BOB, name: 'Bob' },
      { phone: CAROL, name: 'Carol' },
      { phone: DAVE, name: 'Dave' },
    ],
    ...overrides,
  };
}

export interface RunnerRig {
  clock: FakeClock;
  placer: ScriptedCallPlacer;
  runner: CampaignRunner;
  repository: CampaignRepository;
  callbacks: ReturnType<typeof recordingNotifier>;
  events: CampaignRunnerEvent[];
  dispose(): Promise<void>;
}

export async function runnerRig(
  store: Store,
  script: (phone: string, attemptNo: number) => CalleeScript,
  opts: { start?: number; hangingNotifier?: boolean; pollIntervalMs?: number; autoStart?: boolean; attemptTimeoutMs?: number } = {},
): Promise<RunnerRig> {
  const clock = new FakeClock(opts.start);
  const placer = new ScriptedCallPlacer(clock, script);
  const repository = new CampaignRepository(store.db);
  const callbacks = recordingNotifier({ hang: opts.hangingNotifier });
  const runner = new CampaignRunner({
    repository,
    placer,
    subscribe: placer.subscribe,
    notifier: callbacks,
    clock,
    logger: silentLogger(),
    pollIntervalMs: opts.pollIntervalMs,
    attemptTimeoutMs: opts.attemptTimeoutMs,
  });
  const events: CampaignRunnerEvent[] = [];
  runner.onEvent((e) => events.push(e));
  if (opts.autoStart !== false) await runner.start();
  return {
    clock,
    placer,
    runner,
    repository,
    callbacks,
    events,
    async dispose() {
      await runner.stop();
      // Leave nothing running for the next test's runner on the same database.
      for (const c of await repository.listByStatus(['running', 'paused'])) await repository.cancel(c.id, clock.now());
    },
  };
}
