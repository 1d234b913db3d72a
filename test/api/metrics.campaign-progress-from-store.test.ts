import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeCampaignProgress, VoxgateMetrics } from '../../src/api/metrics.js';
import { parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { seed002Campaign } from '../support/campaign-fixtures.js';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

describe('campaign progress gauge read from the store', () => {
  let dir: TempDir;
  let store: Store;
  beforeAll(async () => {
    dir = await makeTempDir();
    store = await openDatabase({ dataDir: dir.path });
  });
  afterAll(async () => {
    await store.close();
    await dir.remove();
  });

  it('shows running campaigns by contact state and drops cancelled ones', async () => {
    const repo = new CampaignRepository(store.db);
    const running = await repo.create({ definition: parseCampaignDefinition(seed002Campaign()), now: 1_700_000_000_000 });
    const cancelled = await repo.create({ definition: parseCampaignDefinition(seed002Campaign({ name: 'old' })), now: 1_700_000_000_000 });
    await store.db.updateTable('campaigns').set({ status: 'cancelled' }).where('id', '=', cancelled.id).execute();

    const metrics = new VoxgateMetrics({ processMetrics: false, collectCampaigns: storeCampaignProgress(store) });
    const samples = parsePrometheusText((await metrics.exposition()).body);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: running.id, state: 'total' })).toBe(4);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: running.id, state: 'pending' })).toBe(4);
    expect(sampleValue(samples, 'voxgate_campaign_contacts', { campaign: cancelled.id, state: 'total' })).toBeUndefined();
  });
});
