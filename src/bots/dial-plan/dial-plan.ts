/**
 * Conversation-API style dial plans (seed 002): a list of verbs run on an outbound call.
 * PAUSE waits, SAY speaks (language, gender), PLAY plays a file, COLLECT gathers digits and posts
 * them to its eventUrl. A SAY/PLAY with `bargeIn` can be cut by a key, which is reported at once.
 * Text may hold `${name}` placeholders filled from the call's variables (campaign contacts).
 */
import { z } from 'zod';

const sayVerb = z
  .object({
    type: z.literal('SAY'),
    message: z
      .object({
        text: z.string().min(1).max(5000),
        language: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en-US').default('en-US'),
        gender: z.enum(['male', 'female']).optional(),
      })
      .strict(),
    /** A key press interrupts the message and is reported at once. */
    bargeIn: z.boolean().default(false),
  })
  .strict();

const playVerb = z
  .object({
    type: z.literal('PLAY'),
    url: z.string().url(),
    bargeIn: z.boolean().default(false),
  })
  .strict();

const pauseVerb = z
  .object({
    type: z.literal('PAUSE'),
    /** Seconds. */
    duration: z.number().min(0).max(300),
  })
  .strict();

const collectVerb = z
  .object({
    type: z.literal('COLLECT'),
    /** Where the digits are POSTed as soon as they are complete. */
    eventUrl: z.string().url().optional(),
    maxDigits: z.number().int().min(1).max(32).default(1),
    /** `#` ends the input early (and is not part of it). */
    submitOnHash: z.boolean().default(true),
    /** Seconds to wait for the first (and each next) digit. */
    timeout: z.number().min(1).max(120).default(10),
  })
  .strict();

export const dialPlanVerbSchema = z.discriminatedUnion('type', [pauseVerb, sayVerb, playVerb, collectVerb]);
export const dialPlanSchema = z.object({ verbs: z.array(dialPlanVerbSchema).min(1).max(200) }).strict();

export type DialPlanVerb = z.infer<typeof dialPlanVerbSchema>;
export type DialPlan = z.infer<typeof dialPlanSchema>;
/** A plan as written (defaults not yet applied), e.g. parsed from a request body. */
export type DialPlanInput = z.input<typeof dialPlanSchema>;
export type SayVerb = Extract<DialPlanVerb, { type: 'SAY' }>;
export type PlayVerb = Extract<DialPlanVerb, { type: 'PLAY' }>;
export type PauseVerb = Extract<DialPlanVerb, { type: 'PAUSE' }>;
export type CollectVerb = Extract<DialPlanVerb, { type: 'COLLECT' }>;
