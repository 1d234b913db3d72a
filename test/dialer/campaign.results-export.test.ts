import { parse } from 'csv-parse/sync';
import { afterEach, expect, it } from 'vitest';
import { parseContactsCsv } from '../../src/dialer/campaign-contacts.js';
import { CAMPAIGN_CSV_COLUMNS } from '../../src/dialer/campaign-runner.js';
import { advanceUntil, campaignEnded } from '../support/campaign-doubles.js';
import { ALICE, BOB, CAROL, DAVE, runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

describeOnEachDialect('campaign results export', (ctx) => {
  let rig: RunnerRig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  it('exports one CSV row per attempt, and one for each contact never called', async () => {
    rig = await runnerRig(ctx.store, (phone, attemptNo) => {
      if (phone === ALICE) return attemptNo === 1 ? { fail: 'busy' } : { answer: true, talkMs: 20_000 };
      if (phone === BOB) return { answer: true, dtmf: '1' };
      return { answer: true, dtmf: '2' };
    });
    // Contacts from a CSV upload, with a variable of their own, on top of the seed 002 flow.
    const contacts = parseContactsCsv(`phone,name,timezone,team\n${ALICE},"Alice, on call",Europe/Athens,db\n${BOB},Bob,,db\n${CAROL},Carol,,net\n${DAVE},Dave,,net\n`);
    const campaign = await rig.runner.create({ ...seed002Campaign({ contacts: [] }), retrySpacingSec: 5 }, contacts);
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 100 });

    const csv = await rig.runner.exportCsv(campaign.id);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...CAMPAIGN_CSV_COLUMNS]);
    expect(rows.map((r) => [r.position, r.name, r.contact_outcome, r.attempt_no, r.attempt_status, r.attempt_outcome, r.dtmf])).toEqual([
      ['1', 'Alice, on call', 'exhausted', '1', 'failed', 'busy', ''],
      ['1', 'Alice, on call', 'exhausted', '2', 'completed', 'no-response', ''],
      ['1', 'Alice, on call', 'exhausted', '3', 'completed', 'no-response', ''],
      ['2', 'Bob', 'accepted', '1', 'completed', 'accepted', '1'],
      ['3', 'Carol', 'skipped', '', '', '', ''],
      ['4', 'Dave', 'skipped', '', '', '', ''],
    ]);
    expect(rows[0]).toMatchObject({ phone: ALICE, timezone: 'Europe/Athens', variables: '{"team":"db"}', detail: 'busy' });
    expect(rows[3]!.conversation_id).toMatch(/^conv-/);
    expect(new Date(rows[3]!.ended_at!).getTime()).toBeGreaterThan(new Date(rows[3]!.started_at!).getTime());
  });
});
