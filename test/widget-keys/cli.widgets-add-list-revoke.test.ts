import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWidgetsCommand, type WidgetsCommandOptions } from '../../src/cli/widgets-command.js';
import { openDatabase } from '../../src/store/database.js';
import { WidgetKeyRepository } from '../../src/store/widget-key-repository.js';
import { makeTempDir, type TempDir } from '../support/store-fixtures.js';
import { captureLogger } from '../support/captured-logger.js';

describe('voxgate widgets add | list | revoke (temp SQLite store)', () => {
  let dir: TempDir;
  const logs = captureLogger();
  beforeAll(async () => {
    dir = await makeTempDir('voxgate-widgets-cli-');
  });
  afterAll(async () => dir.remove());

  const config = () => ({ dataDir: dir.path, server: { publicUrl: 'https://voxgate.example' }, bots: [{ name: 'demo' }, { name: 'template', isBase: true }] });
  const run = async (args: string[], options: Omit<WidgetsCommandOptions, 'args'> = {}) => {
    let out = '';
    let err = '';
    const code = await runWidgetsCommand(config(), { args, ...options, logger: logs.logger, out: (t) => void (out += t), err: (t) => void (err += t) });
    return { code, out, err };
  };
  let keyId = '';

  it('add prints the key and the snippet once; the key verifies against the store', async () => {
    const added = await run(['add', 'Shop site'], { bot: 'demo', origins: 'https://shop.example, http://localhost:8081', maxCalls: '2' });
    expect(added).toMatchObject({ code: 0, err: '' });
    const key = /key:\s+(vxw_\S+)/.exec(added.out)?.[1] ?? '';
    keyId = /key id:\s+(\S+)/.exec(added.out)?.[1] ?? '';
    expect(added.out).toContain(`<script src="https://voxgate.example/widget/voxgate-widget.js" data-voxgate-key="${key}" data-voxgate-url="https://voxgate.example" async></script>`);
    expect(added.out).toContain('origins: https://shop.example http://localhost:8081; 2 calls at once, 20 per minute');
    const store = await openDatabase({ dataDir: dir.path });
    try {
      expect(await new WidgetKeyRepository(store.db).verify(key)).toMatchObject({ id: keyId, name: 'Shop site', bot: 'demo', maxConcurrentCalls: 2 });
    } finally {
      await store.close();
    }
    expect(JSON.stringify(logs.lines)).not.toContain(key);
  });

  it('add refuses an unknown or base bot, an inexact origin and a bad limit, naming the field (exit 2)', async () => {
    expect(await run(['add', 'x'], { bot: 'ghost', origins: 'https://shop.example' })).toMatchObject({ code: 2, err: 'widgets add: bot: no bot named "ghost" (known: demo)\n' });
    expect((await run(['add', 'x'], { bot: 'template', origins: 'https://shop.example' })).code).toBe(2);
    expect((await run(['add', 'x'], { bot: 'demo', origins: 'https://shop.example/' })).err).toContain('origins.0: "https://shop.example/" is not an exact origin: write it as https://shop.example');
    expect((await run(['add', 'x'], { bot: 'demo', origins: 'https://shop.example', callsPerMinute: '0' })).err).toContain('callsPerMinute:');
    expect((await run(['add', 'x'], { origins: 'https://shop.example' })).err).toContain('widgets add: --bot is required');
  });

  it('list shows the key without its secret; revoke marks it, and an unknown id exits 1 naming it', async () => {
    const listed = await run(['list']);
    expect(listed.out).toMatch(/^KEY ID\s+NAME\s+BOT\s+ORIGINS\s+LIMITS\s+CREATED\s+LAST USED\s+STATUS/);
    expect(listed.out).toContain(keyId);
    expect(listed.out).not.toContain('vxw_');
    expect(await run(['revoke', keyId])).toMatchObject({ code: 0, out: `revoked ${keyId} (Shop site); calls from its websites are refused within seconds\n` });
    expect((await run(['list'])).out).toMatch(/revoked \d{4}-/);
    expect(await run(['revoke', 'nokey'])).toMatchObject({ code: 1, err: 'widgets revoke: no widget key nokey\n' });
  });
});
