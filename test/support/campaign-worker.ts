/**
 * A campaign process for the crash and multi-process tests: runs every running campaign in the
 * SQLite store under `dataDir` with a CallPlacer that appends each placed attempt to `logFile`
 * (synchronously, before the call "starts") and prints `placed <position> <attempt>` on stdout, then
 * completes the call after a short real delay with a result that depends only on (position, attempt).
 * Exits 0 once no campaign is running. With VOXGATE_WORKER_REDIS_URL (and VOXGATE_WORKER_REDIS_PREFIX)
 * it runs in Redis mode: claims go through the shared BullMQ queue (VOXGATE_WORKER_LOCK_MS: job lock
 * time; VOXGATE_WORKER_RECOVERY_MS: how often dead processes' attempts are looked for).
 *
 * Usage: node --import tsx test/support/campaign-worker.ts <dataDir> <logFile>
 */
import { appendFileSync } from 'node:fs';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import type { CallPlacer, OutboundCallRequest } from '../../src/dialer/outbound.js';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import { silentLogger } from '../../src/logger.js';
import { CampaignRepository } from '../../src/store/campaign-repository.js';
import { openDatabase } from '../../src/store/database.js';
import { workerCalleeResult } from './campaign-worker-script.js';

const [dataDir, logFile] = process.argv.slice(2);
if (!dataDir || !logFile) {
  console.error('usage: campaign-worker.ts <dataDir> <logFile>');
  process.exit(2);
}

const listeners = new Set<(event: OutboundStatusEvent) => void>();
const publish = (event: OutboundStatusEvent) => listeners.forEach((l) => l(event));
let seq = 0;

const placer: CallPlacer = {
  async place(request: OutboundCallRequest) {
    const position = Number(request.metadata?.contactPosition);
    const attemptNo = Number(request.metadata?.attemptNo);
    const conversationId = `w${process.pid}-${++seq}`;
    appendFileSync(logFile, `${JSON.stringify({ position, attemptNo, phone: request.target, conversationId, pid: process.pid, at: Date.now() })}\n`);
    process.stdout.write(`placed ${position} ${attemptNo}\n`);
    const result = workerCalleeResult(position, attemptNo);
    setTimeout(() => publish({ conversationId, status: 'answered', at: Date.now() }), 20);
    setTimeout(() => {
      if (result === 'no-answer') publish({ conversationId, status: 'failed', reasonCode: 'no-answer', at: Date.now() });
      else publish({ conversationId, status: 'completed', dtmf: result === 'accept' ? '1' : '2', at: Date.now() });
    }, 150 + Math.floor(Math.random() * 150));
    return { conversationId };
  },
};

const redisUrl = process.env.VOXGATE_WORKER_REDIS_URL;
// Crash tests: a killed process's jobs go to the survivor after this lock time (BullMQ stalled-job check).
const lockMs = process.env.VOXGATE_WORKER_LOCK_MS ? Number(process.env.VOXGATE_WORKER_LOCK_MS) : undefined;
const lockTimes = lockMs ? { lockDurationMs: lockMs, stalledIntervalMs: lockMs / 2 } : {};
// VOXGATE_WORKER_DATABASE_URL: PostgreSQL instead of the SQLite file under dataDir.
const store = await openDatabase({ dataDir, databaseUrl: process.env.VOXGATE_WORKER_DATABASE_URL });
const repository = new CampaignRepository(store.db);
const runner = new CampaignRunner({
  repository,
  placer,
  subscribe: (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  logger: silentLogger(),
  pollIntervalMs: 50,
  ...(redisUrl ? { queue: { connection: redisUrl, prefix: process.env.VOXGATE_WORKER_REDIS_PREFIX, ...lockTimes } } : {}),
  ...(process.env.VOXGATE_WORKER_RECOVERY_MS ? { recoveryIntervalMs: Number(process.env.VOXGATE_WORKER_RECOVERY_MS) } : {}),
});
await runner.start();
process.stdout.write('started\n');

// Another process may finish the campaign: watch the store, not only this runner's events.
const watch = setInterval(() => {
  void repository.listByStatus(['running', 'paused']).then(async (open) => {
    if (open.length > 0) return;
    clearInterval(watch);
    await runner.stop();
    await store.close();
    process.exit(0);
  });
}, 50);
