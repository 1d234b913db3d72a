/**
 * Campaign state in the record store: campaigns, their contacts and every attempt. The store is the
 * source of truth so a restarted (or a second) process picks up where the first stopped. An attempt
 * is claimed by inserting its row; the unique (contact_id, attempt_no) key makes that claim succeed
 * for exactly one claimer, on SQLite and PostgreSQL alike, so no attempt is ever dialed twice.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  AttemptOutcome,
  CampaignContact,
  CampaignDefinition,
  ContactOutcome,
  EscalationMode,
} from '../dialer/campaign-definition.js';
import { requireEpochMs, requireText, StoreInputError } from './input-checks.js';
import type { CampaignAttemptsTable, CampaignContactsTable, CampaignsTable, VoxgateDatabase } from './schema.js';

export type CampaignStatus = CampaignsTable['status'];
export type ContactStatus = 'pending' | 'in-progress' | 'done' | 'skipped';
/** `queued`: claimed and waiting in the shared (Redis) queue for its rate-limit slot; no call yet. */
export type AttemptStatus = 'queued' | 'dialing' | 'ringing' | 'answered' | 'completed' | 'failed' | 'interrupted';
/** A call is (or may be) live on the carrier while its attempt is in one of these. */
export const ACTIVE_ATTEMPT_STATUSES = ['dialing', 'ringing', 'answered'] as const;
/** Attempts that hold a contact and a maxConcurrent slot: queued or live. */
const CLAIMED_ATTEMPT_STATUSES = ['queued', ...ACTIVE_ATTEMPT_STATUSES] as const;
const OPEN_CONTACT_STATUSES = ['pending', 'in-progress'] as const;
/** Rows per INSERT when loading contacts: well below SQLite's and PostgreSQL's bound-parameter limits. */
const CONTACT_INSERT_CHUNK = 500;

/** The stored definition; contacts live in their own table. */
export type StoredCampaignDefinition = Omit<CampaignDefinition, 'contacts'>;

export interface CampaignRecord {
  id: string;
  name: string;
  definition: StoredCampaignDefinition;
  status: CampaignStatus;
  createdAt: number;
  updatedAt: number;
}

export interface CampaignContactRecord {
  id: number;
  campaignId: string;
  /** 0-based order in the list. */
  position: number;
  phone: string;
  name: string | null;
  timezone: string | null;
  variables: Record<string, string>;
  status: ContactStatus;
  outcome: ContactOutcome | null;
  attemptsMade: number;
  nextAttemptAt: number | null;
  updatedAt: number;
}

export interface CampaignAttemptRecord {
  id: number;
  campaignId: string;
  contactId: number;
  attemptNo: number;
  conversationId: string | null;
  status: AttemptStatus;
  outcome: AttemptOutcome | null;
  dtmf: string | null;
  detail: string | null;
  owner: string | null;
  startedAt: number;
  endedAt: number | null;
}

/** One attempt with the contact it went to: a line of the campaign's history. */
export interface CampaignHistoryEntry extends CampaignAttemptRecord {
  position: number;
  phone: string;
  name: string | null;
}

export interface CampaignProgress {
  campaignId: string;
  name: string;
  status: CampaignStatus;
  contacts: { total: number; pending: number; inProgress: number; done: number; skipped: number };
  /** Final outcomes of contacts so far (accepted, rejected, exhausted...). */
  contactOutcomes: Partial<Record<ContactOutcome, number>>;
  attempts: { total: number; active: number; byOutcome: Partial<Record<AttemptOutcome, number>> };
  /** Sequential campaigns: who accepted. */
  acceptedBy?: { position: number; phone: string; name: string | null };
  /** A completed sequential campaign: someone accepted, or the list ran out. */
  result?: 'accepted' | 'exhausted';
}

/** A contact and its attempts, flattened: one row per attempt, one row with no attempt for an untouched contact. */
export interface CampaignExportRow {
  position: number;
  phone: string;
  name: string | null;
  timezone: string | null;
  variables: Record<string, string>;
  contactStatus: ContactStatus;
  contactOutcome: ContactOutcome | null;
  attempt: CampaignAttemptRecord | null;
}

export interface CampaignListQuery {
  status?: CampaignStatus;
  limit: number;
  /** Keyset cursor: only campaigns after this one in newest-first order. */
  after?: { createdAt: number; id: string };
}

export interface NewCampaign {
  definition: CampaignDefinition;
  /** Contacts on top of `definition.contacts` (a CSV upload). */
  contacts?: CampaignContact[];
  id?: string;
  now: number;
}

export interface ClaimRequest {
  campaignId: string;
  contactId: number;
  /** The attempt to claim: the contact's attempts so far + 1. */
  attemptNo: number;
  attemptsPerContact: number;
  owner: string;
  now: number;
  /** Sequential escalation: only while every earlier contact is settled. */
  onlyIfFirstOpen: boolean;
  /** `queued` when a shared queue dials it later (taken with takeQueuedAttempt). Default `dialing`. */
  status?: 'dialing' | 'queued';
}

/** What a queue worker found when it came to dial a queued attempt. */
export type TakenAttempt =
  | { kind: 'dial'; attempt: CampaignAttemptRecord }
  /** The campaign stopped running: the claim was undone (the contact waits again, or is cancelled). */
  | { kind: 'released' }
  /** Already taken, released or ended (a redelivered job): nothing to do. */
  | { kind: 'gone' };

export interface AttemptResult {
  status: 'completed' | 'failed' | 'interrupted';
  outcome: AttemptOutcome;
  dtmf?: string;
  detail?: string;
  /** Nothing will change on a retry (bad number): the contact is settled as invalid. */
  final?: boolean;
}

export interface CampaignPolicy {
  attemptsPerContact: number;
  retrySpacingMs: number;
  escalation: EscalationMode;
}

export interface FinishedAttempt {
  attempt: CampaignAttemptRecord;
  contact: CampaignContactRecord;
  /** The campaign status after this attempt (completed when it was the last open contact or an accept ended it). */
  campaignStatus: CampaignStatus;
  /** The campaign went to completed with this attempt. */
  campaignFinished: boolean;
}

export class CampaignRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  /** The campaign and all its contacts, in one transaction: a campaign is never half-loaded. */
  async create(input: NewCampaign): Promise<CampaignRecord> {
    const now = requireEpochMs('campaign', 'now', input.now);
    const id = input.id ?? randomUUID();
    requireText('campaign', 'id', id);
    const { contacts: inline, ...definition } = input.definition;
    const contacts = [...inline, ...(input.contacts ?? [])];
    if (contacts.length === 0) throw new StoreInputError(`campaign ${definition.name}: no contacts`);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('campaigns')
        .values({ id, name: definition.name, definition: JSON.stringify(definition), status: 'running', created_at: now, updated_at: now })
        .execute();
      for (let start = 0; start < contacts.length; start += CONTACT_INSERT_CHUNK) {
        const rows = contacts.slice(start, start + CONTACT_INSERT_CHUNK).map((c, i) => ({
          campaign_id: id,
          position: start + i,
          phone: c.phone,
          name: c.name ?? null,
          timezone: c.timezone ?? null,
          variables: JSON.stringify(c.variables ?? {}),
          status: 'pending',
          outcome: null,
          attempts_made: 0,
          next_attempt_at: now,
          updated_at: now,
        }));
        await trx.insertInto('campaign_contacts').values(rows).execute();
      }
    });
    return { id, name: definition.name, definition, status: 'running', createdAt: now, updatedAt: now };
  }

  async get(campaignId: string): Promise<CampaignRecord | undefined> {
    const row = await this.db.selectFrom('campaigns').selectAll().where('id', '=', campaignId).executeTakeFirst();
    return row ? toCampaign(row) : undefined;
  }

  async listByStatus(statuses: readonly CampaignStatus[]): Promise<CampaignRecord[]> {
    const rows = await this.db.selectFrom('campaigns').selectAll().where('status', 'in', statuses).orderBy('created_at').execute();
    return rows.map(toCampaign);
  }

  /**
   * Campaigns newest first, keyset-paged: `after` is the last campaign of the previous page, and
   * (created_at, id) descending is a total order, so pages neither repeat nor skip a campaign.
   */
  async list(query: CampaignListQuery): Promise<CampaignRecord[]> {
    let q = this.db.selectFrom('campaigns').selectAll();
    if (query.status) q = q.where('status', '=', query.status);
    const after = query.after;
    if (after) {
      q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map(toCampaign);
  }

  /** Moves the campaign to `to` when it is in one of `from`; false when it was not. */
  async transition(campaignId: string, from: readonly CampaignStatus[], to: CampaignStatus, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('campaigns')
      .set({ status: to, updated_at: requireEpochMs('campaign', 'now', now) })
      .where('id', '=', campaignId)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Cancels a running or paused campaign: contacts not yet settled are marked cancelled; calls in flight finish. */
  async cancel(campaignId: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('campaigns')
        .set({ status: 'cancelled', updated_at: now })
        .where('id', '=', campaignId)
        .where('status', 'in', ['running', 'paused'])
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await trx
        .updateTable('campaign_contacts')
        .set({ status: 'skipped', outcome: 'cancelled', next_attempt_at: null, updated_at: now })
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'pending')
        .execute();
      // Claims still waiting in a shared queue were never dialed: their contacts are cancelled too.
      await this.releaseQueuedIn(trx, { campaignId }, now);
      return true;
    });
  }

  /**
   * Contacts whose next attempt is due. Sequential campaigns: only the first open contact, and only
   * when it is waiting (not while its call is in flight).
   */
  async dueContacts(campaignId: string, mode: EscalationMode, now: number, limit: number): Promise<CampaignContactRecord[]> {
    if (mode === 'sequential') {
      const current = await this.currentContact(campaignId);
      return current && current.status === 'pending' && current.nextAttemptAt !== null && current.nextAttemptAt <= now ? [current] : [];
    }
    const rows = await this.db
      .selectFrom('campaign_contacts')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map(toContact);
  }

  /** When the next waiting contact falls due (undefined when none waits). */
  async nextDueAt(campaignId: string, mode: EscalationMode): Promise<number | undefined> {
    if (mode === 'sequential') {
      const current = await this.currentContact(campaignId);
      return current?.status === 'pending' ? (current.nextAttemptAt ?? undefined) : undefined;
    }
    const row = await this.db
      .selectFrom('campaign_contacts')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('campaign_id', '=', campaignId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row?.at == null ? undefined : Number(row.at);
  }

  /** Sequential escalation: the first contact (in list order) not yet settled. */
  async currentContact(campaignId: string): Promise<CampaignContactRecord | undefined> {
    const row = await this.db
      .selectFrom('campaign_contacts')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .where('status', 'in', OPEN_CONTACT_STATUSES)
      .orderBy('position')
      .limit(1)
      .executeTakeFirst();
    return row ? toContact(row) : undefined;
  }

  /** Outside its calling window: the contact waits until `until`. */
  async deferContact(contactId: number, until: number, now: number): Promise<void> {
    await this.db
      .updateTable('campaign_contacts')
      .set({ next_attempt_at: until, updated_at: now })
      .where('id', '=', contactId)
      .where('status', '=', 'pending')
      .execute();
  }

  /**
   * Claims one attempt for this owner: inserts the attempt row only while the campaign runs, the
   * contact waits, no other attempt of it is in flight and nobody claimed this attempt number. One
   * statement, so it holds no transaction open; the unique key settles races between claimers.
   */
  async claimAttempt(req: ClaimRequest): Promise<CampaignAttemptRecord | undefined> {
    const now = requireEpochMs('campaign attempt', 'now', req.now);
    const firstOpen = req.onlyIfFirstOpen
      ? sql`and not exists (select 1 from campaign_contacts e where e.campaign_id = c.campaign_id and e.position < c.position and e.status in ('pending', 'in-progress'))`
      : sql``;
    const status = req.status ?? 'dialing';
    const inserted = await sql<{ id: number }>`
      insert into campaign_attempts (campaign_id, contact_id, attempt_no, status, owner, started_at)
      select c.campaign_id, c.id, c.attempts_made + 1, ${status}, ${req.owner}, cast(${now} as bigint)
      from campaign_contacts c join campaigns k on k.id = c.campaign_id
      where c.id = ${req.contactId} and c.campaign_id = ${req.campaignId}
        and c.attempts_made = ${req.attemptNo - 1} and c.attempts_made < ${req.attemptsPerContact}
        and c.status = 'pending' and k.status = 'running'
        and not exists (select 1 from campaign_attempts a where a.contact_id = c.id and a.status in ('queued', 'dialing', 'ringing', 'answered'))
        ${firstOpen}
      on conflict (contact_id, attempt_no) do nothing
      returning id`.execute(this.db);
    const id = inserted.rows[0]?.id;
    if (id === undefined) return undefined;
    try {
      await this.db
        .updateTable('campaign_contacts')
        .set({ status: 'in-progress', attempts_made: req.attemptNo, next_attempt_at: null, updated_at: now })
        .where('id', '=', req.contactId)
        .where('attempts_made', '<', req.attemptNo)
        .execute();
    } catch {
      // The attempt row is the claim and is already committed: the contact stays claimable-looking, but the
      // in-flight attempt blocks any new claim, and finishAttempt brings attempts_made up to date.
    }
    return {
      id: Number(id),
      campaignId: req.campaignId,
      contactId: req.contactId,
      attemptNo: req.attemptNo,
      conversationId: null,
      status,
      outcome: null,
      dtmf: null,
      detail: null,
      owner: req.owner,
      startedAt: now,
      endedAt: null,
    };
  }

  /**
   * A queue worker takes a queued attempt to dial it: `queued -> dialing` under its own owner, only
   * while the campaign runs. One guarded UPDATE, so of two workers given the same job (a stalled job
   * redelivered) exactly one wins. A campaign no longer running gets the claim undone instead.
   */
  async takeQueuedAttempt(attemptId: number, owner: string, now: number): Promise<TakenAttempt> {
    requireEpochMs('campaign attempt', 'now', now);
    const row = await this.db
      .updateTable('campaign_attempts')
      .set({ status: 'dialing', owner, started_at: now })
      .where('id', '=', attemptId)
      .where('status', '=', 'queued')
      .where((eb) => eb.exists(eb.selectFrom('campaigns as k').select('k.id').whereRef('k.id', '=', 'campaign_attempts.campaign_id').where('k.status', '=', 'running')))
      .returningAll()
      .executeTakeFirst();
    if (row) return { kind: 'dial', attempt: toAttempt(row) };
    return (await this.releaseQueuedAttempts({ attemptId }, now)) > 0 ? { kind: 'released' } : { kind: 'gone' };
  }

  /** Queued attempts (never dialed), oldest first: to re-enqueue those whose job the queue lost. */
  async queuedAttempts(campaignId?: string): Promise<CampaignAttemptRecord[]> {
    let query = this.db.selectFrom('campaign_attempts').selectAll().where('status', '=', 'queued');
    if (campaignId) query = query.where('campaign_id', '=', campaignId);
    return (await query.orderBy('id').execute()).map(toAttempt);
  }

  /**
   * Undoes claims that were never dialed (campaign paused or cancelled while they waited in the queue):
   * the attempt row goes, so the attempt number is free again, and its contact waits for it (or is
   * cancelled). Only while the campaign is not running; returns how many were released.
   */
  async releaseQueuedAttempts(which: { attemptId: number } | { campaignId: string }, now: number): Promise<number> {
    return this.db.transaction().execute((trx) => this.releaseQueuedIn(trx, which, now));
  }

  private async releaseQueuedIn(trx: Kysely<VoxgateDatabase>, which: { attemptId: number } | { campaignId: string }, now: number): Promise<number> {
    const released = await trx
      .deleteFrom('campaign_attempts')
      .where('status', '=', 'queued')
      .where((eb) => ('attemptId' in which ? eb('id', '=', which.attemptId) : eb('campaign_id', '=', which.campaignId)))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('campaigns as k').select('k.id').whereRef('k.id', '=', 'campaign_attempts.campaign_id').where('k.status', '=', 'running'))))
      .returning(['campaign_id', 'contact_id', 'attempt_no'])
      .execute();
    for (const r of released) {
      const campaign = await trx.selectFrom('campaigns').select('status').where('id', '=', r.campaign_id).executeTakeFirstOrThrow();
      const cancelled = campaign.status === 'cancelled' || campaign.status === 'completed';
      await trx
        .updateTable('campaign_contacts')
        .set({
          status: cancelled ? 'skipped' : 'pending',
          outcome: cancelled ? 'cancelled' : null,
          attempts_made: Number(r.attempt_no) - 1,
          next_attempt_at: cancelled ? null : now,
          updated_at: now,
        })
        .where('id', '=', Number(r.contact_id))
        .where('status', '=', 'in-progress')
        .execute();
    }
    return released.length;
  }

  async setConversation(attemptId: number, conversationId: string): Promise<void> {
    await this.db.updateTable('campaign_attempts').set({ conversation_id: conversationId }).where('id', '=', attemptId).execute();
  }

  /** ringing / answered; ignored once the attempt ended. */
  async markProgress(attemptId: number, status: 'ringing' | 'answered'): Promise<boolean> {
    const result = await this.db
      .updateTable('campaign_attempts')
      .set({ status })
      .where('id', '=', attemptId)
      .where('status', 'in', status === 'ringing' ? ['dialing'] : ['dialing', 'ringing'])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Ends an attempt and moves its contact on: settled (accepted, rejected, exhausted, invalid) or
   * waiting for its next attempt; a sequential accept settles the rest as skipped and completes the
   * campaign. Undefined when the attempt had already ended (a late or repeated status).
   */
  async finishAttempt(attemptId: number, result: AttemptResult, policy: CampaignPolicy, now: number): Promise<FinishedAttempt | undefined> {
    requireEpochMs('campaign attempt', 'now', now);
    return this.db.transaction().execute(async (trx) => {
      // The guarded update comes first: it takes the write lock at once (SQLite) and loses to a concurrent finisher.
      const attemptRow = await trx
        .updateTable('campaign_attempts')
        .set({ status: result.status, outcome: result.outcome, dtmf: result.dtmf ?? null, detail: result.detail ?? null, ended_at: now })
        .where('id', '=', attemptId)
        .where('status', 'in', ACTIVE_ATTEMPT_STATUSES)
        .returningAll()
        .executeTakeFirst();
      if (!attemptRow) return undefined;
      const attempt = toAttempt(attemptRow);
      // A no-op write locks the campaign row until commit (PostgreSQL): finishers of one campaign take turns, so
      // of two last calls ending at once the second sees the first's contact settled and completes the campaign.
      const campaign = await trx
        .updateTable('campaigns')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', attempt.campaignId)
        .returning('status')
        .executeTakeFirstOrThrow();
      const contactRow = await trx.selectFrom('campaign_contacts').selectAll().where('id', '=', attempt.contactId).executeTakeFirstOrThrow();
      const attemptsMade = Math.max(Number(contactRow.attempts_made), attempt.attemptNo);

      let status: ContactStatus = 'done';
      let outcome: ContactOutcome | null;
      let nextAttemptAt: number | null = null;
      if (result.outcome === 'accepted' || result.outcome === 'rejected') outcome = result.outcome;
      else if (result.final) outcome = 'invalid';
      else if (campaign.status === 'cancelled') [status, outcome] = ['skipped', 'cancelled'];
      else if (attemptsMade >= policy.attemptsPerContact) outcome = 'exhausted';
      else [status, outcome, nextAttemptAt] = ['pending', null, now + policy.retrySpacingMs];

      await trx
        .updateTable('campaign_contacts')
        .set({ status, outcome, attempts_made: attemptsMade, next_attempt_at: nextAttemptAt, updated_at: now })
        .where('id', '=', attempt.contactId)
        .execute();

      let campaignStatus = campaign.status;
      let campaignFinished = false;
      const acceptEnds = policy.escalation === 'sequential' && outcome === 'accepted';
      if (acceptEnds) {
        await trx
          .updateTable('campaign_contacts')
          .set({ status: 'skipped', outcome: 'skipped', next_attempt_at: null, updated_at: now })
          .where('campaign_id', '=', attempt.campaignId)
          .where('status', 'in', OPEN_CONTACT_STATUSES)
          .execute();
      }
      if (campaignStatus === 'running' || campaignStatus === 'paused') {
        const open = acceptEnds ? undefined : await trx
          .selectFrom('campaign_contacts')
          .select('id')
          .where('campaign_id', '=', attempt.campaignId)
          .where('status', 'in', OPEN_CONTACT_STATUSES)
          .limit(1)
          .executeTakeFirst();
        if (!open) {
          await trx.updateTable('campaigns').set({ status: 'completed', updated_at: now }).where('id', '=', attempt.campaignId).execute();
          campaignStatus = 'completed';
          campaignFinished = true;
        }
      }
      const contact = toContact({ ...contactRow, status, outcome, attempts_made: attemptsMade, next_attempt_at: nextAttemptAt, updated_at: now });
      return { attempt, contact, campaignStatus, campaignFinished };
    });
  }

  /** Attempts that may still be live: to find those left behind by a process that died. */
  async activeAttempts(campaignId?: string): Promise<CampaignAttemptRecord[]> {
    let query = this.db.selectFrom('campaign_attempts').selectAll().where('status', 'in', ACTIVE_ATTEMPT_STATUSES);
    if (campaignId) query = query.where('campaign_id', '=', campaignId);
    return (await query.orderBy('id').execute()).map(toAttempt);
  }

  /** Attempts holding a maxConcurrent slot: live calls and claims queued for dialing. */
  async countActiveAttempts(campaignId: string): Promise<number> {
    const row = await this.db
      .selectFrom('campaign_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('campaign_id', '=', campaignId)
      .where('status', 'in', CLAIMED_ATTEMPT_STATUSES)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async attemptByConversation(conversationId: string): Promise<CampaignAttemptRecord | undefined> {
    const row = await this.db.selectFrom('campaign_attempts').selectAll().where('conversation_id', '=', conversationId).executeTakeFirst();
    return row ? toAttempt(row) : undefined;
  }

  async contact(contactId: number): Promise<CampaignContactRecord | undefined> {
    const row = await this.db.selectFrom('campaign_contacts').selectAll().where('id', '=', contactId).executeTakeFirst();
    return row ? toContact(row) : undefined;
  }

  async contacts(campaignId: string): Promise<CampaignContactRecord[]> {
    const rows = await this.db.selectFrom('campaign_contacts').selectAll().where('campaign_id', '=', campaignId).orderBy('position').execute();
    return rows.map(toContact);
  }

  /** Every attempt in the order they were placed, with its contact. */
  async history(campaignId: string): Promise<CampaignHistoryEntry[]> {
    const rows = await this.db
      .selectFrom('campaign_attempts as a')
      .innerJoin('campaign_contacts as c', 'c.id', 'a.contact_id')
      .selectAll('a')
      .select(['c.position', 'c.phone', 'c.name'])
      .where('a.campaign_id', '=', campaignId)
      .orderBy('a.started_at')
      .orderBy('a.id')
      .execute();
    return rows.map((r) => ({ ...toAttempt(r), position: Number(r.position), phone: r.phone, name: r.name }));
  }

  async progress(campaignId: string): Promise<CampaignProgress | undefined> {
    const campaign = await this.get(campaignId);
    if (!campaign) return undefined;
    const contactRows = await this.db
      .selectFrom('campaign_contacts')
      .select(['status', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('campaign_id', '=', campaignId)
      .groupBy(['status', 'outcome'])
      .execute();
    const attemptRows = await this.db
      .selectFrom('campaign_attempts')
      .select(['status', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('campaign_id', '=', campaignId)
      .groupBy(['status', 'outcome'])
      .execute();
    const progress: CampaignProgress = {
      campaignId,
      name: campaign.name,
      status: campaign.status,
      contacts: { total: 0, pending: 0, inProgress: 0, done: 0, skipped: 0 },
      contactOutcomes: {},
      attempts: { total: 0, active: 0, byOutcome: {} },
    };
    for (const r of contactRows) {
      const n = Number(r.n);
      progress.contacts.total += n;
      if (r.status === 'pending') progress.contacts.pending += n;
      else if (r.status === 'in-progress') progress.contacts.inProgress += n;
      else if (r.status === 'done') progress.contacts.done += n;
      else progress.contacts.skipped += n;
      if (r.outcome) {
        const outcome = r.outcome as ContactOutcome;
        progress.contactOutcomes[outcome] = (progress.contactOutcomes[outcome] ?? 0) + n;
      }
    }
    for (const r of attemptRows) {
      const n = Number(r.n);
      progress.attempts.total += n;
      if ((ACTIVE_ATTEMPT_STATUSES as readonly string[]).includes(r.status)) progress.attempts.active += n;
      if (r.outcome) {
        const outcome = r.outcome as AttemptOutcome;
        progress.attempts.byOutcome[outcome] = (progress.attempts.byOutcome[outcome] ?? 0) + n;
      }
    }
    if (campaign.definition.escalation === 'sequential' && progress.contactOutcomes.accepted) {
      const accepted = await this.db
        .selectFrom('campaign_contacts')
        .select(['position', 'phone', 'name'])
        .where('campaign_id', '=', campaignId)
        .where('outcome', '=', 'accepted')
        .orderBy('position')
        .executeTakeFirst();
      if (accepted) progress.acceptedBy = { position: Number(accepted.position), phone: accepted.phone, name: accepted.name };
    }
    if (campaign.definition.escalation === 'sequential' && campaign.status === 'completed') {
      progress.result = progress.acceptedBy ? 'accepted' : 'exhausted';
    }
    return progress;
  }

  /** Rows for the results export, in list order then attempt order. */
  async exportRows(campaignId: string): Promise<CampaignExportRow[]> {
    const contacts = await this.contacts(campaignId);
    const attempts = await this.db
      .selectFrom('campaign_attempts')
      .selectAll()
      .where('campaign_id', '=', campaignId)
      .orderBy('contact_id')
      .orderBy('attempt_no')
      .execute();
    const byContact = new Map<number, CampaignAttemptRecord[]>();
    for (const row of attempts) {
      const attempt = toAttempt(row);
      const list = byContact.get(attempt.contactId) ?? [];
      list.push(attempt);
      byContact.set(attempt.contactId, list);
    }
    const rows: CampaignExportRow[] = [];
    for (const c of contacts) {
      const base = {
        position: c.position,
        phone: c.phone,
        name: c.name,
        timezone: c.timezone,
        variables: c.variables,
        contactStatus: c.status,
        contactOutcome: c.outcome,
      };
      const list = byContact.get(c.id);
      if (!list?.length) rows.push({ ...base, attempt: null });
      else for (const attempt of list) rows.push({ ...base, attempt });
    }
    return rows;
  }
}

function toCampaign(row: Selectable<CampaignsTable>): CampaignRecord {
  return {
    id: row.id,
    name: row.name,
    definition: JSON.parse(row.definition) as StoredCampaignDefinition,
    status: row.status,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toContact(row: Selectable<CampaignContactsTable>): CampaignContactRecord {
  return {
    id: Number(row.id),
    campaignId: row.campaign_id,
    position: Number(row.position),
    phone: row.phone,
    name: row.name,
    timezone: row.timezone,
    variables: JSON.parse(row.variables) as Record<string, string>,
    status: row.status as ContactStatus,
    outcome: row.outcome as ContactOutcome | null,
    attemptsMade: Number(row.attempts_made),
    nextAttemptAt: row.next_attempt_at == null ? null : Number(row.next_attempt_at),
    updatedAt: Number(row.updated_at),
  };
}

function toAttempt(row: Selectable<CampaignAttemptsTable>): CampaignAttemptRecord {
  return {
    id: Number(row.id),
    campaignId: row.campaign_id,
    contactId: Number(row.contact_id),
    attemptNo: Number(row.attempt_no),
    conversationId: row.conversation_id,
    status: row.status as AttemptStatus,
    outcome: row.outcome as AttemptOutcome | null,
    dtmf: row.dtmf,
    detail: row.detail,
    owner: row.owner,
    startedAt: Number(row.started_at),
    endedAt: row.ended_at == null ? null : Number(row.ended_at),
  };
}
