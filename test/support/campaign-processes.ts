/**
 * Runs campaign-worker.ts as real child processes (node + tsx), reports their stdout lines as they
 * come, and checks a finished campaign against the workers' placement logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { CampaignAttemptRecord, CampaignContactRecord } from '../../src/store/campaign-repository.js';
import { workerCalleeResult } from './campaign-worker-script.js';

const WORKER = fileURLToPath(new URL('./campaign-worker.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Lines `placed <position> <attempt>` seen so far. */
  placedLines: number;
  /** Resolves when `placed` reaches n. */
  placed(n: number): Promise<void>;
  started: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** `env`: extra environment, e.g. VOXGATE_WORKER_REDIS_URL / VOXGATE_WORKER_REDIS_PREFIX for Redis mode. */
export function startWorker(dataDir: string, logFile: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dataDir, logFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const waiters: { n: number; resolve: () => void }[] = [];
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const proc: WorkerProcess = {
    child,
    placedLines: 0,
    placed(n) {
      if (proc.placedLines >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    started,
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr }))),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'started') resolveStarted();
    if (!line.startsWith('placed ')) return;
    proc.placedLines++;
    for (const w of waiters.splice(0)) {
      if (proc.placedLines >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  return proc;
}

export interface PlacementLogLine {
  position: number;
  attemptNo: number;
  phone: string;
  conversationId: string;
  pid: number;
  /** Epoch ms when the placer was called. */
  at: number;
}

export function readPlacementLog(...files: string[]): PlacementLogLine[] {
  return files
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as PlacementLogLine);
}

/**
 * The campaign lost nothing and dialed nothing twice: every contact settled as its callee's script
 * says (interrupted attempts count as used), attempts numbered 1..k without gaps, each
 * (contact, attempt) placed at most once, and every attempt that ran to a result was really placed.
 */
/**
 * Placements per second over the run: n starts span n-1 intervals. `peakPerSecond`: most starts in any
 * one-second window (catches bursts the average hides).
 */
export function placementRate(placements: PlacementLogLine[]): { count: number; perSecond: number; peakPerSecond: number } {
  const times = placements.map((p) => p.at).sort((a, b) => a - b);
  const span = times.length > 1 ? times[times.length - 1]! - times[0]! : 0;
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { count: times.length, perSecond: span > 0 ? ((times.length - 1) * 1000) / span : 0, peakPerSecond: peak };
}

export function expectNoLossNoDuplicate(
  contacts: CampaignContactRecord[],
  attempts: CampaignAttemptRecord[],
  placements: PlacementLogLine[],
  attemptsPerContact: number,
): void {
  const keys = placements.map((p) => `${p.position}/${p.attemptNo}`);
  const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i);
  expect(duplicates, 'a (contact, attempt) was placed twice').toEqual([]);
  const placed = new Set(keys);

  const byContact = new Map<number, CampaignAttemptRecord[]>();
  for (const a of attempts) byContact.set(a.contactId, [...(byContact.get(a.contactId) ?? []), a]);

  for (const contact of contacts) {
    expect(contact.status, `contact ${contact.position} not settled`).toBe('done');
    const list = (byContact.get(contact.id) ?? []).sort((a, b) => a.attemptNo - b.attemptNo);
    expect(list.map((a) => a.attemptNo)).toEqual(list.map((_, i) => i + 1));
    let expected: string = 'exhausted';
    for (const a of list) {
      expect(['completed', 'failed', 'interrupted']).toContain(a.status);
      if (a.status === 'interrupted') continue;
      expect(placed.has(`${contact.position}/${a.attemptNo}`), `attempt ${contact.position}/${a.attemptNo} has a result but was never placed`).toBe(true);
      const script = workerCalleeResult(contact.position, a.attemptNo);
      expect(a.outcome).toBe(script === 'accept' ? 'accepted' : script === 'reject' ? 'rejected' : 'no-answer');
    }
    const decisive = list.find((a) => a.outcome === 'accepted' || a.outcome === 'rejected');
    if (decisive) expected = decisive.outcome!;
    expect(contact.outcome, `contact ${contact.position}`).toBe(expected);
    // Settled at the decisive attempt, or after using every attempt.
    expect(list.length).toBe(decisive ? decisive.attemptNo : attemptsPerContact);
    expect(contact.attemptsMade).toBe(list.length);
  }
  // Nothing placed that the store does not know about.
  const known = new Set(attempts.map((a) => `${contacts.find((c) => c.id === a.contactId)!.position}/${a.attemptNo}`));
  expect(keys.filter((k) => !known.has(k))).toEqual([]);
}
