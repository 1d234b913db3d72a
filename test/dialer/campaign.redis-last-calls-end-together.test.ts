import { expect, it } from 'vitest';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const CONTACTS = 6;

// With the Redis queue, starts come a limiter window at a time, so calls of equal length end together.
describeOnEachDialect('campaign whose last calls end at the same moment', (ctx) => {
  it('is completed exactly once: concurrent finishers take turns, the last sees every contact settled', async () => {
    for (let round = 0; round < 5; round++) {
      const repo = new CampaignRepository(ctx.store.db);
      const now = Date.now();
      const campaign = await repo.create({
        definition: parseCampaignDefinition({
          name: `simultaneous ends ${round}`,
          caller: '+15550001000',
          bot: 'ticket-bot',
          attemptsPerContact: 1,
          pacing: { callsPerSecond: 50, maxConcurrent: CONTACTS },
          contacts: Array.from({ length: CONTACTS }, (_, i) => ({ phone: `+1555700${String(i).padStart(4, '0')}` })),
        }),
        now,
      });
      const attempts = [];
      for (const contact of await repo.contacts(campaign.id)) {
        const attempt = await repo.claimAttempt({ campaignId: campaign.id, contactId: contact.id, attemptNo: 1, attemptsPerContact: 1, owner: 'h#1#x', now, onlyIfFirstOpen: false });
        attempts.push(attempt!);
      }
      const policy = { attemptsPerContact: 1, retrySpacingMs: 0, escalation: 'all' as const };
      const finished = await Promise.all(attempts.map((a) => repo.finishAttempt(a.id, { status: 'completed', outcome: 'accepted', dtmf: '1' }, policy, now + 1000)));
      expect(finished.filter((f) => f?.campaignFinished)).toHaveLength(1);
      expect((await repo.get(campaign.id))?.status).toBe('completed');
    }
  });
});
