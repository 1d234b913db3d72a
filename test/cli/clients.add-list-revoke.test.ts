import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiAuth } from '../../src/api/auth/api-auth.js';
import { runClientsCommand } from '../../src/cli/clients-command.js';
import { openDatabase } from '../../src/store/database.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

describe('voxgate clients add | list | revoke (temp SQLite store)', () => {
  let dir: TempDir;
  const logs = captureLogger();
  beforeAll(async () => {
    dir = await makeTempDir('voxgate-clients-cli-');
  });
  afterAll(async () => dir.remove());

  const run = async (args: string[], scopes?: string) => {
    let out = '';
    let err = '';
    const code = await runClientsCommand({ dataDir: dir.path }, { args, scopes, logger: logs.logger, out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };

  let clientId = '';
  let clientSecret = '';

  it('add prints the client id and the secret once; the secret authenticates against the store', async () => {
    const added = await run(['add', 'nightly report'], 'calls:read, campaigns:read');
    expect(added).toMatchObject({ code: 0, err: '' });
    clientId = /client_id:\s+(\S+)/.exec(added.out)?.[1] ?? '';
    clientSecret = /client_secret:\s+(\S+)/.exec(added.out)?.[1] ?? '';
    expect(clientId).toMatch(/^vgc_/);
    expect(clientSecret.length).toBeGreaterThanOrEqual(40);
    expect(added.out).toContain('scopes:        calls:read campaigns:read');

    const store = await openDatabase({ dataDir: dir.path });
    try {
      const auth = await ApiAuth.create({ db: store.db });
      const found = await auth.clients.findForAuthentication(clientId);
      expect(found?.client).toMatchObject({ name: 'nightly report', scopes: ['calls:read', 'campaigns:read'], revokedAt: null });
      expect(found?.secretHash).toMatch(/^scrypt\$16384\$8\$1\$/);
      expect(found?.secretHash).not.toContain(clientSecret);
    } finally {
      await store.close();
    }
  });

  it('list shows the client without its secret', async () => {
    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^CLIENT ID\s+NAME\s+SCOPES\s+CREATED\s+LAST USED\s+STATUS/);
    expect(listed.out).toContain(clientId);
    expect(listed.out).toContain('nightly report');
    expect(listed.out).toContain('calls:read,campaigns:read');
    expect(listed.out).toMatch(/ active\n/);
    expect(listed.out).not.toContain(clientSecret);
  });

  it('revoke marks the client revoked; list shows when', async () => {
    const revoked = await run(['revoke', clientId]);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`revoked ${clientId}`);
    expect((await run(['list'])).out).toMatch(/revoked \d{4}-\d\d-\d\dT/);
  });

  it('revoke of an unknown id exits 1 naming it', async () => {
    expect(await run(['revoke', 'vgc_nope'])).toMatchObject({ code: 1, err: 'clients revoke: no API client vgc_nope\n' });
  });

  it('usage errors exit 2: unknown scope (named), missing --scopes, missing name, unknown subcommand', async () => {
    const unknownScope = await run(['add', 'x'], 'calls:read,calls:write');
    expect(unknownScope.code).toBe(2);
    expect(unknownScope.err).toContain('unknown scope "calls:write"');
    expect((await run(['add', 'x'])).err).toContain('--scopes is required');
    expect((await run(['add'], 'calls:read')).err).toContain('a client name is required');
    expect((await run(['rotate'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });

  it('never logs a client secret', () => {
    expect(logs.lines.some((l) => l.msg === 'OAuth API client created')).toBe(true);
    expect(JSON.stringify(logs.lines)).not.toContain(clientSecret);
  });
});
