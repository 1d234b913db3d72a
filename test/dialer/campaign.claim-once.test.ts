import { expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository, type ClaimRequest } from '../../src/store/campaign-repository.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const NOW = 1_700_000_000_000;
const policy = { attemptsPerContact: 3, retrySpacingMs: 1000, escalation: 'all' as const };

function definition(escalation: 'all' | 'sequential' = 'all') {
  return parseCampaignDefinition({
    name: 'claims',
    caller: '+15550001000',
    bot: 'b',
    escalation,
    contacts: [{ phone: '+15550000001' }, { phone: '+15550000002' }],
  });
}

describeOnEachDialect('campaign attempt claims', (ctx) => {
  it('twenty claimers on two connections racing for one attempt: exactly one wins', async () => {
    const other = await ctx.reopen();
    const repos = [new CampaignRepository(ctx.store.db), new CampaignRepository(other.db)];
    const campaign = await repos[0]!.create({ definition: definition(), now: NOW });
    const [contact] = await repos[0]!.contacts(campaign.id);
    const claim = (i: number): ClaimRequest => ({
      campaignId: campaign.id,
      contactId: contact!.id,
      attemptNo: 1,
      attemptsPerContact: 3,
      owner: `claimer-${i}`,
      now: NOW,
      onlyIfFirstOpen: false,
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => repos[i % 2]!.claimAttempt(claim(i))));
    expect(results.filter(Boolean)).toHaveLength(1);
    // Nor can attempt 2 be claimed while attempt 1 is in flight, nor attempt 1 again after it ended.
    expect(await repos[1]!.claimAttempt({ ...claim(99), attemptNo: 2 })).toBeUndefined();
    const winner = results.find(Boolean)!;
    await repos[0]!.finishAttempt(winner.id, { status: 'failed', outcome: 'no-answer' }, policy, NOW + 10);
    expect(await repos[1]!.claimAttempt({ ...claim(98), now: NOW + 5000 })).toBeUndefined();
    expect(await repos[1]!.claimAttempt({ ...claim(98), attemptNo: 2, now: NOW + 5000 })).toMatchObject({ attemptNo: 2, owner: 'claimer-98' });
    const history = await repos[0]!.history(campaign.id);
    expect(history.map((h) => [h.attemptNo, h.status])).toEqual([
      [1, 'failed'],
      [2, 'dialing'],
    ]);
  });

  it('finishing an attempt twice (a repeated status) changes nothing the second time', async () => {
    const repo = new CampaignRepository(ctx.store.db);
    const campaign = await repo.create({ definition: definition(), now: NOW });
    const [contact] = await repo.contacts(campaign.id);
    const attempt = await repo.claimAttempt({ campaignId: campaign.id, contactId: contact!.id, attemptNo: 1, attemptsPerContact: 3, owner: 'o', now: NOW, onlyIfFirstOpen: false });
    expect(await repo.finishAttempt(attempt!.id, { status: 'completed', outcome: 'accepted', dtmf: '1' }, policy, NOW + 1)).toMatchObject({ contact: { outcome: 'accepted' } });
    expect(await repo.finishAttempt(attempt!.id, { status: 'failed', outcome: 'error' }, policy, NOW + 2)).toBeUndefined();
    expect((await repo.history(campaign.id))[0]).toMatchObject({ status: 'completed', outcome: 'accepted' });
  });

  it('no claims on a paused campaign, nor past the first open contact of a sequential one', async () => {
    const repo = new CampaignRepository(ctx.store.db);
    const campaign = await repo.create({ definition: definition('sequential'), now: NOW });
    const [first, second] = await repo.contacts(campaign.id);
    const base = { campaignId: campaign.id, attemptNo: 1, attemptsPerContact: 3, owner: 'o', now: NOW, onlyIfFirstOpen: true };
    expect(await repo.claimAttempt({ ...base, contactId: second!.id })).toBeUndefined();
    await repo.transition(campaign.id, ['running'], 'paused', NOW);
    expect(await repo.claimAttempt({ ...base, contactId: first!.id })).toBeUndefined();
    await repo.transition(campaign.id, ['paused'], 'running', NOW);
    expect(await repo.claimAttempt({ ...base, contactId: first!.id })).toMatchObject({ attemptNo: 1 });
  });
});
