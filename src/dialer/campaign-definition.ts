/**
 * What a campaign is: who to call (contacts), what runs on each call (a bot or a dial plan), how
 * often and how fast to call, when (calling windows in the contact's zone) and what counts as an
 * answer (DTMF keys mapped to accepted / rejected). Validated on the way in; every error names
 * the field. Format reference: docs/campaigns.md.
 */
import { z } from 'zod';
import { dialPlanSchema } from '../bots/dial-plan/dial-plan.js';

/** Callee-side keys a contact can press. */
const DTMF_KEYS = /^[0-9*#A-D]{1,32}$/;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
/** E.164 after the separators people type (spaces, dashes, dots, brackets) and a `tel:` prefix are removed. */
const E164 = /^\+?[1-9]\d{6,14}$/;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type EscalationMode = 'sequential' | 'all';

export class CampaignDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CampaignDefinitionError';
  }
}

/** True for names Intl knows (IANA zones such as Europe/Athens, and UTC). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `tel:+30 210-123 4567` -> `+302101234567`; undefined when it is not a phone number. */
export function normalizePhone(raw: string): string | undefined {
  const compact = raw.trim().replace(/^tel:/i, '').replace(/[\s\-.()]/g, '');
  return E164.test(compact) ? compact : undefined;
}

const phoneSchema = z.string().transform((value, ctx) => {
  const phone = normalizePhone(value);
  if (!phone) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not an E.164 phone number: ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return phone;
});

const timeZoneSchema = z.string().refine(isTimeZone, (zone) => ({ message: `unknown IANA time zone ${JSON.stringify(zone)}` }));
const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'variable names are letters, digits, _ . - (max 64)');
export const variablesSchema = z.record(variableName, z.string().max(2000));

export const campaignContactSchema = z
  .object({
    phone: phoneSchema,
    name: z.string().trim().max(200).optional(),
    /** IANA zone; the window applies in this zone. Defaults to the window's timezone. */
    timezone: timeZoneSchema.optional(),
    /** `${name}` values for this contact's prompts (on top of the campaign's variables). */
    variables: variablesSchema.default({}),
  })
  .strict();

export type CampaignContactInput = z.input<typeof campaignContactSchema>;
export type CampaignContact = z.output<typeof campaignContactSchema>;

const keyList = z.array(z.string().regex(DTMF_KEYS, 'DTMF keys 0-9 * # A-D'));

export const campaignWindowSchema = z
  .object({
    /** Local time the window opens, HH:MM (24 h). */
    start: z.string().regex(HH_MM, 'HH:MM, 24-hour'),
    /** Local time it closes (exclusive); earlier than start means the window runs past midnight. */
    end: z.string().regex(HH_MM, 'HH:MM, 24-hour'),
    /** Days the window opens on (of its start); every day when absent. */
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    /** Zone for contacts without their own. */
    timezone: timeZoneSchema.default('UTC'),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'start and end must differ', path: ['end'] });

export type CampaignWindow = z.output<typeof campaignWindowSchema>;

export const campaignDefinitionSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    /** Caller id shown to the callees. */
    caller: phoneSchema,
    callerDisplayName: z.string().max(100).optional(),
    /** A configured bot talks to each contact... */
    bot: z.string().min(1).optional(),
    /** ...or these verbs run on each call (seed 002 flow). */
    dialPlan: dialPlanSchema.optional(),
    machineDetection: z.enum(['detect', 'disconnect']).optional(),
    /** The carrier the calls go through; default: the caller number's route's carrier, else the only one configured. */
    carrier: z.string().min(1).optional(),
    contacts: z.array(campaignContactSchema).max(100_000).default([]),
    attemptsPerContact: z.number().int().min(1).max(20).default(3),
    /** Seconds between the end of an attempt and the next attempt to the same contact. */
    retrySpacingSec: z.number().min(0).max(7 * 86_400).default(300),
    /** sequential: one contact at a time, in order, stop at the first accept. all: every contact. */
    escalation: z.enum(['sequential', 'all']).default('all'),
    /** Keys that decide the answer; anything else (or nothing) on an answered call is `no-response`. */
    outcomes: z
      .object({ accepted: keyList.default(['1']), rejected: keyList.default(['2']) })
      .strict()
      .default({})
      .refine((o) => !o.accepted.some((k) => o.rejected.includes(k)), {
        message: 'a key cannot both accept and reject',
        path: ['rejected'],
      }),
    pacing: z
      .object({
        callsPerSecond: z.number().positive().max(100).default(1),
        maxConcurrent: z.number().int().min(1).max(10_000).default(10),
      })
      .strict()
      .default({}),
    window: campaignWindowSchema.optional(),
    /** Where each attempt's result (and the campaign's end) is POSTed. */
    callback: z.object({ url: z.string().url() }).strict().optional(),
    /** `${name}` values shared by every contact. */
    variables: variablesSchema.default({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (!d.bot === !d.dialPlan) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'exactly one of bot or dialPlan is required', path: ['bot'] });
    }
  });

export type CampaignDefinitionInput = z.input<typeof campaignDefinitionSchema>;
export type CampaignDefinition = z.output<typeof campaignDefinitionSchema>;

/** Validates a campaign; the error lists every problem as `path: message`. */
export function parseCampaignDefinition(input: unknown): CampaignDefinition {
  const result = campaignDefinitionSchema.safeParse(input);
  if (!result.success) throw new CampaignDefinitionError(`invalid campaign: ${formatIssues(result.error)}`);
  return result.data;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Attempt outcomes. */
export type AttemptOutcome =
  | 'accepted'
  | 'rejected'
  /** Answered, but no key that decides. */
  | 'no-response'
  | 'no-answer'
  | 'busy'
  | 'declined'
  | 'machine'
  | 'error'
  /** The process that dialed died before the result came: the attempt counts, the call is never re-placed. */
  | 'interrupted';

/** Final outcome of a contact. */
export type ContactOutcome = 'accepted' | 'rejected' | 'exhausted' | 'invalid' | 'skipped' | 'cancelled';

/**
 * The answer the keys give: the whole input when it is listed (multi-key codes), else the first
 * listed key in press order (a callee who pressed 3 then 1 accepted).
 */
export function outcomeFromDtmf(dtmf: string | undefined, outcomes: CampaignDefinition['outcomes']): AttemptOutcome {
  const keys = dtmf ?? '';
  if (outcomes.accepted.includes(keys) && keys) return 'accepted';
  if (outcomes.rejected.includes(keys) && keys) return 'rejected';
  for (const key of keys) {
    if (outcomes.accepted.includes(key)) return 'accepted';
    if (outcomes.rejected.includes(key)) return 'rejected';
  }
  return 'no-response';
}
