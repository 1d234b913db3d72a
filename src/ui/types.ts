/** Response shapes of the management API, as the console reads them (see src/api/*-routes.ts). */
export interface LiveCall {
  id: string;
  carrier: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  bot: string;
  startedAt: number;
  connected: boolean;
}

export interface CallRecord {
  id: string;
  carrier: string;
  carrierCallId: string;
  direction: 'inbound' | 'outbound';
  from: string;
  to: string;
  bot: string;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  hangupCause: string | null;
  hangupSide: string | null;
  endReason: string | null;
}

export interface TranscriptLine {
  id: number;
  at: number;
  speaker: string;
  text: string;
}

export interface DtmfRecord {
  id: number;
  at: number;
  digit: string;
}

export interface PromptRecord {
  id: number;
  promptId: string;
  text: string;
  startedAt: number;
  endedAt: number;
  heardInFull: boolean;
}

export interface TurnRecord {
  seq: number;
  inputKind: string;
  inputText: string | null;
  speechEndedAt: number | null;
  inputAt: number;
  botSentAt: number | null;
  botAnsweredAt: number | null;
  firstAudioAt: number | null;
  sttMs: number | null;
  botMs: number | null;
  ttsMs: number | null;
  e2eMs: number | null;
  sttProvider: string | null;
  ttsProvider: string | null;
  bot: string;
  outcome: string;
  error: string | null;
}

export interface RecordingView {
  id: number;
  n: number;
  url: string;
  format: string;
  sampleRate: number;
  channels: number;
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

export interface CallDetail {
  call: CallRecord;
  transcript: TranscriptLine[];
  dtmf: DtmfRecord[];
  prompts: PromptRecord[];
  turns: TurnRecord[];
  recordings: RecordingView[];
}

export interface ActiveAlarm {
  id: number;
  key: string;
  type: string;
  entity: string;
  severity: string;
  message: string;
  raisedAt: number;
  updatedAt: number;
}

export interface AlarmHistoryEntry {
  id: number;
  key: string;
  type: string;
  entity: string;
  severity: string;
  message: string;
  at: number;
}

export interface ApiClient {
  clientId: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** A widget key as /api/v1/widget-keys shows it (never its secret). */
export interface WidgetKey {
  id: string;
  name: string;
  bot: string;
  origins: string[];
  maxConcurrentCalls: number;
  callsPerMinute: number;
  createdAt: string;
  updatedAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** The server's scope list itself: dependency-free, so the console bundles it. */
export { SCOPES } from '../api/auth/scopes.js';

/** GET /api/v1/campaigns/:id, and each item of GET /api/v1/campaigns. */
export interface CampaignProgress {
  campaignId: string;
  name: string;
  status: 'running' | 'paused' | 'cancelled' | 'completed';
  contacts: { total: number; pending: number; inProgress: number; done: number; skipped: number };
  contactOutcomes: Record<string, number>;
  attempts: { total: number; active: number; byOutcome: Record<string, number> };
  acceptedBy?: { position: number; phone: string; name: string | null };
  result?: 'accepted' | 'exhausted';
}

export interface CampaignPage {
  campaigns: CampaignProgress[];
  nextCursor: string | null;
}
