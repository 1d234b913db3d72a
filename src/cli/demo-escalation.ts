/**
 * The second half of `voxgate demo`: the seed 002 escalation run as a campaign (configuration, not
 * code). A ticket is offered to three virtual employees over real outbound calls through the demo's
 * carrier: the first never answers (three attempts), the second rejects, the third accepts, and the
 * campaign stops.
 */
import { seed002EscalationPlan } from '../bots/dial-plan/index.js';
import type { Gateway } from '../app/gateway.js';
import type { DemoCarrier } from './demo-carrier.js';

export interface EscalationDemoOptions {
  caller: string;
  out: (line: string) => void;
}

const EMPLOYEES = [
  { phone: '+14155550201', name: 'Alice', script: { neverAnswer: true }, behaviour: 'never answers' },
  // Keys are pressed once the ticket (about 5 s of speech) has been heard, early in the menu that follows:
  // timed by what the employee heard, not by a clock, so a slow machine tells the same story.
  { phone: '+14155550202', name: 'Bob', script: { answerAfterSec: 1, keys: [{ afterHeardSec: 6.5, digits: '2' }] }, behaviour: 'answers and presses 2 (reject) during the menu' },
  { phone: '+14155550203', name: 'Carol', script: { answerAfterSec: 1, keys: [{ afterHeardSec: 6.5, digits: '1' }] }, behaviour: 'answers and presses 1 (accept) during the menu' },
];

/** The campaign as a user would write it (YAML or JSON): the seed 002 flow is configuration. */
export function escalationCampaign(caller: string) {
  return {
    name: 'Ticket 4711 escalation',
    caller,
    escalation: 'sequential' as const,
    attemptsPerContact: 3,
    retrySpacingSec: 1,
    outcomes: { accepted: ['1'], rejected: ['2'] },
    pacing: { callsPerSecond: 1, maxConcurrent: 1 },
    variables: { ticket: '4711' },
    // Menu repeated once after the wait, as seed 002 asks (10 s there; 3 s here to keep the demo short).
    dialPlan: seed002EscalationPlan('Hello ${name}. Ticket ${ticket}: the database disk is full.', { waitSeconds: 3 }),
    contacts: EMPLOYEES.map(({ phone, name }) => ({ phone, name })),
  };
}

export async function runEscalationDemo(gateway: Gateway, sim: Pick<DemoCarrier, 'addCallee'>, opts: EscalationDemoOptions): Promise<boolean> {
  const { out } = opts;
  for (const e of EMPLOYEES) sim.addCallee(e.phone, e.script);
  out('Escalation campaign (seed 002): a ticket is offered to three employees, in order, three attempts each.');
  for (const e of EMPLOYEES) out(`  ${e.name.padEnd(6)} ${e.phone}  ${e.behaviour}`);
  out('');

  const t0 = Date.now();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  // Known once create() returns; its first events come after (dialing waits for the next pass).
  const campaign: { id?: string } = {};
  const finished = new Promise<void>((resolve) => {
    gateway.campaigns.onEvent((e) => {
      if (e.campaignId !== campaign.id) return;
      if (e.type === 'attempt.started') out(`${stamp()}  calling ${e.contact.name} (attempt ${e.attempt.attemptNo})`);
      else if (e.type === 'attempt.finished') out(`${stamp()}  ${e.contact.name}, attempt ${e.attempt.attemptNo}: ${e.attempt.outcome}${e.attempt.dtmf ? ` (key ${e.attempt.dtmf})` : ''}`);
      else if (e.type === 'campaign.status' && e.status !== 'running') resolve();
    });
  });
  const campaignId = (campaign.id = (await gateway.campaigns.create(escalationCampaign(opts.caller))).id);
  await finished;

  const [progress, history] = await Promise.all([gateway.campaigns.progress(campaignId), gateway.campaigns.history(campaignId)]);
  out('');
  out(`Attempt history (campaign ${campaignId}):`);
  for (const a of history) out(`  ${a.name?.padEnd(6)} attempt ${a.attemptNo}  ${String(a.outcome).padEnd(10)} ${a.endedAt && a.startedAt ? `${((a.endedAt - a.startedAt) / 1000).toFixed(1)}s` : ''}`);
  const outcome = progress?.result === 'accepted' ? `accepted by ${progress.acceptedBy?.name ?? progress.acceptedBy?.phone}` : (progress?.result ?? progress?.status ?? 'unknown');
  out(`Outcome: ${outcome}`);
  return progress?.result === 'accepted';
}
