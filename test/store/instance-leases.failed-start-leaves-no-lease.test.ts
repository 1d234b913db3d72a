/**
 * A gateway that cannot listen (its port taken) fails its start without leaving a lease behind: a
 * sibling sharing the store would otherwise watch a phantom instance "die" a minute later.
 */
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startGateway } from '../../src/app/gateway.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/logger.js';
import { openDatabase } from '../../src/store/database.js';

it('removes its lease when the port is taken', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-lease-'));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  try {
    const config = configSchema.parse({ server: { host: '127.0.0.1', port, instanceId: 'gw-taken' }, dataDir });
    await expect(startGateway(config, { logger: silentLogger() })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const store = await openDatabase({ dataDir, logger: silentLogger() });
    try {
      expect(await store.db.selectFrom('gateway_instances').selectAll().execute()).toEqual([]);
    } finally {
      await store.close();
    }
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
});
