/**
 * Table shapes of the record store (what Kysely sees) and the records the repositories return.
 * Timestamps are epoch milliseconds everywhere: INTEGER on SQLite, BIGINT on PostgreSQL, read back
 * as JS numbers (the PostgreSQL pool parses int8 as a number; epoch ms fit well inside 2^53).
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CallDirection, HangupSide, RecordingSavedEvent, RecordingStatus, Speaker, TurnEvent, TurnInputKind, TurnOutcome } from '../events/call-events.js';

export interface CallsTable {
  /** Voxgate's call id. */
  id: string;
  carrier: string;
  carrier_call_id: string;
  direction: CallDirection;
  from_number: string;
  to_number: string;
  bot: string;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  /** Talk time: the carrier's figure when it gave one, else answer to end (0 when never answered). */
  duration_ms: number | null;
  hangup_cause: string | null;
  hangup_side: HangupSide | null;
  end_reason: string | null;
  transfer_target: string | null;
  transfer_mode: string | null;
  transfer_reason: string | null;
  transferred_at: number | null;
  /** The gateway instance that ran the call (`server.instanceId`); null for calls from before instances were named. */
  instance_id: string | null;
}

export interface TranscriptLinesTable {
  id: Generated<number>;
  call_id: string;
  at: number;
  speaker: Speaker;
  text: string;
}

export interface DtmfEventsTable {
  id: Generated<number>;
  call_id: string;
  at: number;
  digit: string;
}

export interface PromptsTable {
  id: Generated<number>;
  call_id: string;
  prompt_id: string;
  text: string;
  started_at: number;
  ended_at: number;
  /** BOOLEAN on PostgreSQL, 0/1 on SQLite (which has no boolean and whose driver cannot bind JS booleans). */
  heard_in_full: ColumnType<boolean | number, number, number>;
}


export interface TurnsTable {
  id: Generated<number>;
  call_id: string;
  /** 0 is the opening (start activity to greeting); each caller input opens the next. */
  seq: number;
  input_kind: TurnInputKind;
  input_text: string | null;
  /** The VAD heard the caller stop (speech turns). */
  speech_ended_at: number | null;
  /** The input was complete: STT final, DTMF submitted, or the call started. */
  input_at: number;
  bot_sent_at: number | null;
  /** The bot's first activity with something to do. */
  bot_answered_at: number | null;
  /** The first audio of the answer went to the carrier. */
  first_audio_at: number | null;
  stt_ms: number | null;
  bot_ms: number | null;
  tts_ms: number | null;
  /** End of the caller's speech (or the input) to the first audio of the answer. */
  e2e_ms: number | null;
  stt_provider: string | null;
  tts_provider: string | null;
  bot: string;
  outcome: TurnOutcome;
  error: string | null;
}

export interface RecordingsTable {
  id: Generated<number>;
  call_id: string;
  path: string;
  format: string;
  sample_rate: number;
  channels: number;
  started_at: number;
  ended_at: number;
  duration_ms: number;
  status: ColumnType<RecordingStatus, RecordingStatus | undefined, RecordingStatus>;
  error: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OutboundCallsTable {
  conversation_id: string;
  source: string;
  bot: string | null;
  target: string;
  caller: string;
  /** The carrier's id for the request, known once the carrier took it. */
  carrier_request_id: string | null;
  notify_url: string | null;
  /** The OutboundCallRequest as JSON. */
  request: string;
  status: string;
  reason_code: string | null;
  created_at: number;
  updated_at: number;
}

export interface CampaignsTable {
  id: string;
  name: string;
  /** The campaign definition as JSON (validated on the way in). */
  definition: string;
  status: 'running' | 'paused' | 'cancelled' | 'completed';
  created_at: number;
  updated_at: number;
}

export interface CampaignContactsTable {
  id: Generated<number>;
  campaign_id: string;
  /** Order in the list (escalation calls contacts in this order). */
  position: number;
  phone: string;
  name: string | null;
  /** IANA zone for calling windows, e.g. Europe/Athens. */
  timezone: string | null;
  /** JSON object of the contact's own values for prompts. */
  variables: string;
  /** pending | in-progress | done | skipped */
  status: string;
  /** accepted | rejected | exhausted | ... once done. */
  outcome: string | null;
  attempts_made: number;
  next_attempt_at: number | null;
  updated_at: number;
}

export interface CampaignAttemptsTable {
  id: Generated<number>;
  campaign_id: string;
  contact_id: number;
  /** 1-based; (contact_id, attempt_no) is unique: an attempt is dialed at most once. */
  attempt_no: number;
  conversation_id: string | null;
  /** dialing | ringing | answered | completed | failed | interrupted */
  status: string;
  outcome: string | null;
  dtmf: string | null;
  detail: string | null;
  /** The process that claimed the attempt (several processes may share a campaign). */
  owner: string | null;
  started_at: number;
  ended_at: number | null;
}

export interface CallbackOutboxTable {
  id: Generated<number>;
  /** Sent as the Idempotency-Key header; receivers de-duplicate redeliveries by it. */
  idempotency_key: string;
  url: string;
  body: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** A gateway instance sharing the store, and when it last said it was alive. */
export interface GatewayInstancesTable {
  instance_id: string;
  started_at: number;
  heartbeat_at: number;
}

export interface OauthClientsTable {
  client_id: string;
  name: string;
  /** scrypt hash of the client secret (the secret itself is shown once, at creation). */
  secret_hash: string;
  /** JSON array of granted scopes. */
  scopes: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface WidgetKeysTable {
  /** The key's public id (base64url), as in its credential `vxw_<id>.<secret>`. */
  id: string;
  name: string;
  /** The one bot the key may call. */
  bot: string;
  /** JSON array of exact origins (`scheme://host[:port]`) whose pages may use the key. */
  origins: string;
  max_concurrent_calls: number;
  calls_per_minute: number;
  /** `sha256$<base64url>` of the secret (shown once, at creation). */
  secret_hash: string;
  created_at: number;
  updated_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AlarmsTable {
  id: Generated<number>;
  /** type + entity: one active alarm per condition. */
  alarm_key: string;
  type: string;
  entity: string;
  /** clear | indeterminate | warning | minor | major | critical */
  severity: string;
  message: string;
  raised_at: number;
  updated_at: number;
}

export interface AlarmHistoryTable {
  id: Generated<number>;
  alarm_key: string;
  type: string;
  entity: string;
  severity: string;
  message: string;
  at: number;
}

export interface AlarmRulesTable {
  type: string;
  /** 0/1 */
  disabled: number;
  /** JSON array: only these entities raise this alarm type; null = all. */
  allowed_entities: string | null;
  updated_at: number;
}

export interface ConfigEntriesTable {
  /** bot | provider | route */
  kind: string;
  name: string;
  /** JSON, validated by the runtime's own schema before it is stored. */
  body: string;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  /** JSON */
  value: string;
  updated_at: number;
}

export interface VoxgateDatabase {
  calls: CallsTable;
  transcript_lines: TranscriptLinesTable;
  dtmf_events: DtmfEventsTable;
  prompts: PromptsTable;
  turns: TurnsTable;
  recordings: RecordingsTable;
  outbound_calls: OutboundCallsTable;
  campaigns: CampaignsTable;
  campaign_contacts: CampaignContactsTable;
  campaign_attempts: CampaignAttemptsTable;
  callback_outbox: CallbackOutboxTable;
  oauth_clients: OauthClientsTable;
  widget_keys: WidgetKeysTable;
  gateway_instances: GatewayInstancesTable;
  alarms: AlarmsTable;
  alarm_history: AlarmHistoryTable;
  alarm_rules: AlarmRulesTable;
  config_entries: ConfigEntriesTable;
  settings: SettingsTable;
}

export type CallRow = Selectable<CallsTable>;

/** One call detail record. Times are epoch ms; null until the call reaches that point. */
export interface CallRecord {
  id: string;
  carrier: string;
  carrierCallId: string;
  direction: CallDirection;
  from: string;
  to: string;
  bot: string;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  hangupCause: string | null;
  hangupSide: HangupSide | null;
  /** Why the conversation ended from Voxgate's side: bot-hangup, caller-hangup, no-input, error... */
  endReason: string | null;
  /** Where the caller was transferred (null when not transferred), how (blind, bridge), why and when. */
  transferTarget: string | null;
  transferMode: string | null;
  transferReason: string | null;
  transferredAt: number | null;
  /** The gateway instance that ran the call (`server.instanceId`); null for calls recorded before calls carried one. */
  instanceId: string | null;
}

export interface TranscriptLine {
  id: number;
  callId: string;
  at: number;
  speaker: Speaker;
  text: string;
}

export interface DtmfRecord {
  id: number;
  callId: string;
  at: number;
  digit: string;
}

export interface PromptRecord {
  id: number;
  callId: string;
  promptId: string;
  text: string;
  startedAt: number;
  endedAt: number;
  heardInFull: boolean;
}



/** One conversational turn as stored: the `turn` event, kept. */
export type TurnRecord = TurnEvent;

/** One recording file of a call (a call may have several: each start/stop makes one). */
export interface RecordingRecord extends Omit<RecordingSavedEvent, 'status' | 'error'> {
  id: number;
  status: RecordingStatus;
  error: string | null;
}
