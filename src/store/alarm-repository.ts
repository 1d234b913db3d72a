/**
 * Alarms in the store: the active table (one row per alarm key = type + entity), the history
 * (every severity change, bounded to the newest rows) and the per-type rules (disabled, entity
 * allow-list).
 */
import type { Kysely } from 'kysely';
import { requireEpochMs, requireText, StoreInputError } from './input-checks.js';
import type { VoxgateDatabase } from './schema.js';

export interface ActiveAlarmRecord {
  id: number;
  alarmKey: string;
  type: string;
  entity: string;
  severity: string;
  message: string;
  raisedAt: number;
  updatedAt: number;
}

export interface AlarmHistoryRecord {
  id: number;
  alarmKey: string;
  type: string;
  entity: string;
  severity: string;
  message: string;
  at: number;
}

export interface AlarmRuleRecord {
  type: string;
  disabled: boolean;
  /** Only these entities raise this type; null = every entity. */
  allowedEntities: string[] | null;
  updatedAt: number;
}

export class AlarmRepository {
  constructor(private readonly db: Kysely<VoxgateDatabase>) {}

  async listActive(): Promise<ActiveAlarmRecord[]> {
    const rows = await this.db.selectFrom('alarms').selectAll().orderBy('updated_at', 'desc').orderBy('id', 'desc').execute();
    return rows.map(activeRecord);
  }

  async getActive(alarmKey: string): Promise<ActiveAlarmRecord | undefined> {
    const row = await this.db.selectFrom('alarms').selectAll().where('alarm_key', '=', alarmKey).executeTakeFirst();
    return row && activeRecord(row);
  }

  async getActiveById(id: number): Promise<ActiveAlarmRecord | undefined> {
    const row = await this.db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
    return row && activeRecord(row);
  }

  /** Inserts the active alarm, or changes its severity and message; raisedAt stays the first raise's. */
  async upsertActive(alarm: Omit<ActiveAlarmRecord, 'id' | 'raisedAt' | 'updatedAt'>, at: number): Promise<ActiveAlarmRecord> {
    const what = 'alarm';
    const values = {
      alarm_key: requireText(what, 'alarmKey', alarm.alarmKey),
      type: requireText(what, 'type', alarm.type),
      entity: requireText(what, 'entity', alarm.entity),
      severity: requireText(what, 'severity', alarm.severity),
      message: requireText(what, 'message', alarm.message),
      raised_at: requireEpochMs(what, 'at', at),
      updated_at: at,
    };
    await this.db
      .insertInto('alarms')
      .values(values)
      .onConflict((oc) => oc.column('alarm_key').doUpdateSet({ severity: values.severity, message: values.message, updated_at: values.updated_at }))
      .execute();
    const stored = await this.getActive(values.alarm_key);
    if (!stored) throw new StoreInputError(`alarm ${values.alarm_key}: not found right after it was written`);
    return stored;
  }

  /** Returns the removed row, or undefined when the alarm was not active. */
  async deleteActive(alarmKey: string): Promise<ActiveAlarmRecord | undefined> {
    const existing = await this.getActive(alarmKey);
    if (!existing) return undefined;
    const result = await this.db.deleteFrom('alarms').where('alarm_key', '=', alarmKey).executeTakeFirst();
    return Number(result.numDeletedRows) > 0 ? existing : undefined;
  }

  /** Appends a history row and drops the oldest beyond `keep`; returns the new row's id. */
  async appendHistory(entry: Omit<AlarmHistoryRecord, 'id'>, keep: number): Promise<number> {
    const what = 'alarm history';
    if (!Number.isInteger(keep) || keep <= 0) throw new StoreInputError(`${what}: keep must be a positive integer, got ${String(keep)}`);
    const inserted = await this.db
      .insertInto('alarm_history')
      .values({
        alarm_key: requireText(what, 'alarmKey', entry.alarmKey),
        type: requireText(what, 'type', entry.type),
        entity: requireText(what, 'entity', entry.entity),
        severity: requireText(what, 'severity', entry.severity),
        message: requireText(what, 'message', entry.message),
        at: requireEpochMs(what, 'at', entry.at),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const cutoff = await this.db.selectFrom('alarm_history').select('id').orderBy('id', 'desc').offset(keep - 1).limit(1).executeTakeFirst();
    if (cutoff) await this.db.deleteFrom('alarm_history').where('id', '<', cutoff.id).execute();
    return Number(inserted.id);
  }

  /** Newest first; `before` is a history id (the previous page's nextBefore). */
  async history(page: { limit: number; before?: number }): Promise<AlarmHistoryRecord[]> {
    let query = this.db.selectFrom('alarm_history').selectAll().orderBy('id', 'desc').limit(page.limit);
    if (page.before !== undefined) query = query.where('id', '<', page.before);
    const rows = await query.execute();
    return rows.map((r) => ({ id: Number(r.id), alarmKey: r.alarm_key, type: r.type, entity: r.entity, severity: r.severity, message: r.message, at: Number(r.at) }));
  }

  async getRule(type: string): Promise<AlarmRuleRecord | undefined> {
    const row = await this.db.selectFrom('alarm_rules').selectAll().where('type', '=', type).executeTakeFirst();
    return row && ruleRecord(row);
  }

  async listRules(): Promise<AlarmRuleRecord[]> {
    const rows = await this.db.selectFrom('alarm_rules').selectAll().orderBy('type').execute();
    return rows.map(ruleRecord);
  }

  async putRule(rule: AlarmRuleRecord): Promise<AlarmRuleRecord> {
    const what = 'alarm rule';
    const values = {
      type: requireText(what, 'type', rule.type),
      disabled: rule.disabled ? 1 : 0,
      allowed_entities: rule.allowedEntities === null ? null : JSON.stringify(rule.allowedEntities.map((e, i) => requireText(what, `allowedEntities[${i}]`, e))),
      updated_at: requireEpochMs(what, 'updatedAt', rule.updatedAt),
    };
    await this.db
      .insertInto('alarm_rules')
      .values(values)
      .onConflict((oc) => oc.column('type').doUpdateSet({ disabled: values.disabled, allowed_entities: values.allowed_entities, updated_at: values.updated_at }))
      .execute();
    return { ...rule };
  }
}

function activeRecord(r: { id: number; alarm_key: string; type: string; entity: string; severity: string; message: string; raised_at: number; updated_at: number }): ActiveAlarmRecord {
  return { id: Number(r.id), alarmKey: r.alarm_key, type: r.type, entity: r.entity, severity: r.severity, message: r.message, raisedAt: Number(r.raised_at), updatedAt: Number(r.updated_at) };
}

function ruleRecord(r: { type: string; disabled: number; allowed_entities: string | null; updated_at: number }): AlarmRuleRecord {
  let allowed: string[] | null = null;
  if (r.allowed_entities !== null) {
    const parsed: unknown = JSON.parse(r.allowed_entities);
    allowed = Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string') : null;
  }
  return { type: r.type, disabled: Number(r.disabled) !== 0, allowedEntities: allowed, updatedAt: Number(r.updated_at) };
}
