/**
 * Call management API, a Fastify plugin mounted at /api/v1:
 *   GET  /calls/live                       calls in progress on every instance of the service (calls:read)
 *   GET  /calls?from&to&number&bot&...     history, newest first, keyset pages (calls:read)
 *   GET  /calls/:id                        record + transcript + DTMF + prompts + turns + recordings (calls:read)
 *   GET  /calls/:id/recordings/:n          the n-th recording (1-based) as audio/wav (calls:read)
 *   GET  /settings/retention, PUT          retention period in days (admin)
 *   POST /calls/purge                      deletes calls and recordings older than the retention (admin)
 * Scopes are declared in `config.scope`; the auth plugin enforces them.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CallInfo } from '../carriers/leg.js';
import type { Logger } from '../logger.js';
import { MAX_CALL_PAGE } from '../store/call-repository.js';
import type { Store } from '../store/database.js';
import type { CallRetention } from '../store/retention.js';
import type { DirectoryCall } from '../cluster/call-directory.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import { docSchema, documentOnly, parsedOr400, queryEpochMs, queryInteger, zodError } from './route-schemas.js';

/** A call in progress as the live list shows it (LiveCalls.list()). */
export interface LiveCallSummary {
  info: CallInfo;
  botName: string;
  startedAt: number;
  /** The media leg is up and the conversation running. */
  connected: boolean;
}

export interface CallsRoutesOptions {
  store: Store;
  live: { list(): LiveCallSummary[] };
  /** The call directory (once it exists): with several instances the live list shows theirs too. */
  directory?: () => { readonly shared: boolean; calls(): Promise<DirectoryCall[]> } | undefined;
  /** This instance's id, shown on its own calls. */
  instanceId?: string;
  retention: CallRetention;
  /** Recording downloads are refused for files outside this directory. */
  recordingsDir: string;
  /**
   * A recording made by another instance is on that instance's disk: serve the request from there
   * (true once answered), or false when that instance is not running.
   */
  recordingFromInstance?: (instanceId: string, request: FastifyRequest, reply: FastifyReply) => Promise<boolean>;
  logger: Logger;
}

const DEFAULT_CALL_PAGE = 50;
const durationMs = queryInteger(0, Number.MAX_SAFE_INTEGER, 'milliseconds (a whole number)');
const historyQuery = z
  .object({
    from: queryEpochMs.optional(),
    to: queryEpochMs.optional(),
    number: z.string().min(1).optional(),
    bot: z.string().min(1).optional(),
    direction: z.enum(['inbound', 'outbound']).optional(),
    reason: z.string().min(1).optional(),
    minDurationMs: durationMs.optional(),
    maxDurationMs: durationMs.optional(),
    limit: queryInteger(1, MAX_CALL_PAGE).optional().describe(`page size, default ${DEFAULT_CALL_PAGE}`),
    cursor: z.string().min(1).optional(),
  })
  .strict();
const idParams = z.object({ id: z.string().min(1) }).strict();
const recordingParams = z.object({ id: z.string().min(1), n: queryInteger(1, Number.MAX_SAFE_INTEGER, 'a recording number from 1') }).strict();
const retentionBody = z.object({ days: z.number().int().min(1).max(36_500).nullable() }).strict();

/** Opaque page token: the last call of the page, so the next starts right after it. */
function encodeCursor(call: { startedAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([call.startedAt, call.id])).toString('base64url');
}

function decodeCursor(cursor: string): { startedAt: number; id: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && value[0] >= 0 && typeof value[1] === 'string' && value[1]) return { startedAt: value[0] as number, id: value[1] };
  } catch {
    // fall through: not a cursor this API issued
  }
  return undefined;
}

/** A call in progress as the API shows it (the live list and the live stream's snapshot). */
export function liveCallView(c: LiveCallSummary) {
  return { id: c.info.callId, carrier: c.info.carrier, direction: c.info.direction, from: c.info.from, to: c.info.to, bot: c.botName, startedAt: c.startedAt, connected: c.connected };
}

/** A sibling's call as the directory holds it, in the live list's shape. */
function directoryCallView(c: DirectoryCall) {
  return { id: c.callId, carrier: c.carrier, direction: c.direction, from: c.from, to: c.to, bot: c.bot ?? '', startedAt: c.startedAt, connected: c.connected, instance: c.owner };
}

export async function callsRoutes(scope: FastifyInstance, opts: CallsRoutesOptions): Promise<void> {
  const { store } = opts;
  documentOnly(scope);
  const tags = ['calls'];
  const warnings = new RateLimitedWarnings(opts.logger);

  scope.get('/calls/live', { config: { scope: 'calls:read' }, schema: { tags, summary: 'Calls in progress (every instance of the service)' } }, async () => {
    const own = opts.live.list().map((c) => ({ ...liveCallView(c), ...(opts.instanceId === undefined ? {} : { instance: opts.instanceId }) }));
    const directory = opts.directory?.();
    if (!directory?.shared) return { calls: own };
    try {
      // This process's own detail wins; the directory adds the calls of every other instance.
      const mine = new Set(own.map((c) => c.id));
      const others = (await directory.calls()).filter((c) => !mine.has(c.callId)).map(directoryCallView);
      return { calls: [...own, ...others].sort((a, b) => a.startedAt - b.startedAt) };
    } catch (err) {
      warnings.warn('directory', `live calls: the call directory did not answer (${err instanceof Error ? err.message : String(err)}); listing this instance's calls only`);
      return { calls: own, incomplete: `only instance ${opts.instanceId ?? 'this one'}: the call directory did not answer` };
    }
  });

  scope.get('/calls', { config: { scope: 'calls:read' }, schema: { tags, summary: 'Call history, newest first', querystring: docSchema(historyQuery) } }, async (request, reply) => {
    const parsed = historyQuery.safeParse(request.query);
    if (!parsed.success) return reply.code(400).send({ error: zodError(parsed.error) });
    const { cursor, limit = DEFAULT_CALL_PAGE, ...filters } = parsed.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) return reply.code(400).send({ error: 'cursor: expected the nextCursor of a previous page' });
    const calls = await store.calls.search({ ...filters, limit, after });
    // Only a full page can have a next one; one row past it tells (asking for limit + 1 would exceed the store's maximum page).
    const last = calls.at(-1);
    const more = last !== undefined && calls.length === limit && (await store.calls.search({ ...filters, limit: 1, after: last })).length > 0;
    return { calls, nextCursor: more ? encodeCursor(last) : null };
  });

  scope.get('/calls/:id', { config: { scope: 'calls:read' }, schema: { tags, summary: 'One call with its transcript, DTMF, prompts, turns and recordings', params: docSchema(idParams) } }, async (request, reply) => {
    const params = parsedOr400(idParams, request.params, reply);
    if (!params) return reply;
    const { id } = params;
    const call = await store.calls.get(id);
    if (!call) return reply.code(404).send({ error: `id: no call ${id}` });
    const [transcript, dtmf, prompts, turns, recordings] = await Promise.all([
      store.transcripts.listForCall(id),
      store.dtmf.listForCall(id),
      store.prompts.listForCall(id),
      store.turns.listForCall(id),
      store.recordings.listForCall(id),
    ]);
    return {
      call,
      transcript,
      dtmf,
      prompts,
      turns,
      // The file path stays server-side; clients download through the URL.
      recordings: recordings.map(({ path: _path, ...r }, i) => ({ ...r, n: i + 1, url: `${request.url.split('?')[0].replace(/\/$/, '')}/recordings/${i + 1}` })),
    };
  });

  scope.get('/calls/:id/recordings/:n', { config: { scope: 'calls:read' }, schema: { tags, summary: 'Download a recording (audio/wav)', params: docSchema(recordingParams) } }, async (request, reply) => {
    const params = recordingParams.safeParse(request.params);
    if (!params.success) return reply.code(400).send({ error: zodError(params.error) });
    const { id, n } = params.data;
    const call = await store.calls.get(id);
    if (!call) return reply.code(404).send({ error: `id: no call ${id}` });
    const recording = (await store.recordings.listForCall(id))[n - 1];
    if (!recording) return reply.code(404).send({ error: `n: call ${id} has no recording ${n}` });
    const madeElsewhere = call.instanceId && opts.instanceId && call.instanceId !== opts.instanceId ? call.instanceId : undefined;
    if (madeElsewhere && !(await servableHere(recording.path, opts.recordingsDir))) {
      if (await opts.recordingFromInstance?.(madeElsewhere, request, reply)) return reply;
      return reply.code(404).send({ error: `recording: call ${id} was recorded by instance ${madeElsewhere}, which is not running; its recordings are on that instance's disk` });
    }
    return sendRecording(reply, recording.path, opts, `${id}-${n}.wav`);
  });

  scope.get('/settings/retention', { config: { scope: 'admin' }, schema: { tags, summary: 'Call retention (days; null keeps calls forever)' } }, async () => opts.retention.get());

  scope.put('/settings/retention', { config: { scope: 'admin' }, schema: { tags, summary: 'Set the call retention', body: docSchema(retentionBody) } }, async (request, reply) => {
    const parsed = retentionBody.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: zodError(parsed.error) });
    await opts.retention.set(parsed.data);
    opts.logger.info({ days: parsed.data.days }, 'call retention changed');
    return opts.retention.get();
  });

  scope.post('/calls/purge', { config: { scope: 'admin' }, schema: { tags, summary: 'Delete calls and recordings older than the retention' } }, async (_request, reply) => {
    const { days } = await opts.retention.get();
    if (days === null) return reply.code(409).send({ error: 'retention: no retention period is set (PUT /settings/retention first)' });
    return opts.retention.purge();
  });
}

/** Whether this instance can serve the file itself: in its own recordings directory, and there. */
async function servableHere(path: string, recordingsDir: string): Promise<boolean> {
  const file = resolve(path);
  if (!file.startsWith(resolve(recordingsDir) + sep)) return false;
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}

async function sendRecording(reply: FastifyReply, path: string, opts: CallsRoutesOptions, filename: string) {
  const root = resolve(opts.recordingsDir);
  // Rows hold the path as the recorder wrote it: relative to the process's directory when dataDir is.
  const file = resolve(path);
  // A row is data: a path pointing outside the recordings directory is never served.
  if (!file.startsWith(root + sep)) {
    opts.logger.warn({ path: file }, 'recording download refused: outside the recordings directory');
    return reply.code(403).send({ error: 'recording: the file is outside the recordings directory' });
  }
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    size = info.size;
  } catch {
    return reply.code(404).send({ error: 'recording: the file is gone (purged or moved)' });
  }
  return reply
    .type('audio/wav')
    .header('content-length', size)
    .header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`)
    .send(createReadStream(file));
}
