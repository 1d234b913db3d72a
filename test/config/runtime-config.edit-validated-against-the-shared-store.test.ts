/**
 * Two processes sharing one store: an edit is validated against what the store holds now, not
 * against this process's last look at it, so a route to a bot another process just deleted is
 * refused instead of leaving the instances with a stored configuration neither can apply.
 */
import { expect, it } from 'vitest';
import { RuntimeConfig, RuntimeConfigError } from '../../src/config/runtime-config.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigRepository } from '../../src/store/config-repository.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

const file = () => configSchema.parse({ bots: [{ name: 'front', type: 'flow' }], routes: [{ number: '*', bot: 'front' }] });

describeOnEachDialect('run-time configuration shared by two processes', (ctx) => {
  it('refuses an edit that only fits a stale view of the store, and sees the other process\'s edits first', async () => {
    const a = await RuntimeConfig.open({ file: file(), entries: new ConfigRepository(ctx.store.db) });
    const b = await RuntimeConfig.open({ file: file(), entries: new ConfigRepository((await ctx.reopen()).db) });
    await a.putBot('sales', { type: 'flow' });
    await b.refresh();
    expect(b.getBot('sales')).toBeDefined();

    // A deletes the bot; B has not heard of it yet.
    await a.deleteBot('sales');
    const edit = b.putRoute('+14155550100', { bot: 'sales' });
    await expect(edit).rejects.toBeInstanceOf(RuntimeConfigError);
    await expect(edit).rejects.toThrow('routes.+14155550100.bot: unknown bot "sales"');
    expect(b.getBot('sales')).toBeUndefined();

    // And an edit B makes keeps what A stored meanwhile.
    await a.putRoute('+14155550101', { bot: 'front' });
    await b.putRoute('+14155550102', { bot: 'front' });
    expect(b.getRoute('+14155550101')).toBeDefined();
  });
});
