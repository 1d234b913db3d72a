/**
 * A dial plan prepared for a call: validated, placeholders filled, and cut into segments. A segment
 * is the verbs up to and including the next COLLECT; the call hears a whole segment in one go and
 * the COLLECT's input (or its timeout) starts the next one. The last segment has no COLLECT and
 * ends with the hangup.
 *
 * Interruptible prompts: a bargeIn SAY/PLAY, and a PAUSE that follows one within the segment, can
 * be cut by a key, which then counts as the segment's COLLECT input (the rest of the segment is
 * skipped). Without a COLLECT after it a key has nowhere to go, so bargeIn is not honoured there.
 */
import { ZodError } from 'zod';
import { resolvePlaceholders } from '../../runtime/placeholders.js';
import { dialPlanSchema, type CollectVerb, type DialPlan, type DialPlanInput, type DialPlanVerb } from './dial-plan.js';

export class DialPlanError extends Error {}

export interface PlanPrompt {
  /** Index in `dialPlan.verbs`. */
  index: number;
  verb: Exclude<DialPlanVerb, CollectVerb>;
  /** A key press cuts it (and what follows, up to the COLLECT). */
  interruptible: boolean;
}

export interface PlanCollect {
  index: number;
  /** Among the plan's COLLECT verbs. */
  collectIndex: number;
  verb: CollectVerb;
}

export interface PlanSegment {
  prompts: PlanPrompt[];
  collect?: PlanCollect;
}

export interface PreparedPlan {
  plan: DialPlan;
  segments: PlanSegment[];
  /** bargeIn verbs with no COLLECT after them (nothing to report a key to). */
  ignoredBargeIn: number[];
}

/** Validates the plan and fills `${name}` placeholders in SAY text, PLAY url and COLLECT eventUrl. */
export function preparePlan(input: DialPlan | DialPlanInput, variables: Readonly<Record<string, string | undefined>>): PreparedPlan {
  const plan = parsePlan(input);
  const verbs = plan.verbs.map((verb, i) => fillPlaceholders(verb, i, variables));
  const segments: PlanSegment[] = [];
  const ignoredBargeIn: number[] = [];
  let current: PlanSegment = { prompts: [] };
  let collectIndex = 0;
  verbs.forEach((verb, index) => {
    if (verb.type === 'COLLECT') {
      current.collect = { index, collectIndex: collectIndex++, verb };
      segments.push(current);
      current = { prompts: [] };
    } else {
      current.prompts.push({ index, verb, interruptible: false });
    }
  });
  segments.push(current);
  for (const segment of segments) markInterruptible(segment, ignoredBargeIn);
  return { plan: { verbs }, segments, ignoredBargeIn };
}

function parsePlan(input: DialPlan | DialPlanInput): DialPlan {
  try {
    return dialPlanSchema.parse(input);
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    const problems = err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(plan)'}: ${i.message}`).join('; ');
    throw new DialPlanError(`invalid dial plan: ${problems}`);
  }
}

function fillPlaceholders(verb: DialPlanVerb, i: number, variables: Readonly<Record<string, string | undefined>>): DialPlanVerb {
  const fill = (template: string, field: string) => resolvePlaceholders(template, variables, `dial plan verbs.${i}.${field}`);
  switch (verb.type) {
    case 'SAY':
      return { ...verb, message: { ...verb.message, text: fill(verb.message.text, 'message.text') } };
    case 'PLAY':
      return { ...verb, url: checkedUrl(fill(verb.url, 'url'), `verbs.${i}.url`) };
    case 'COLLECT':
      return verb.eventUrl === undefined ? verb : { ...verb, eventUrl: checkedUrl(fill(verb.eventUrl, 'eventUrl'), `verbs.${i}.eventUrl`) };
    case 'PAUSE':
      return verb;
  }
}

/** A placeholder value can turn a valid URL template into an invalid URL. */
function checkedUrl(url: string, field: string): string {
  if (!URL.canParse(url)) throw new DialPlanError(`invalid dial plan: ${field}: "${url}" is not a URL after filling placeholders`);
  return url;
}

function markInterruptible(segment: PlanSegment, ignoredBargeIn: number[]): void {
  let afterBargeIn = false;
  for (const prompt of segment.prompts) {
    const { verb } = prompt;
    if (verb.type === 'PAUSE') {
      prompt.interruptible = afterBargeIn && segment.collect !== undefined;
      continue;
    }
    afterBargeIn = verb.bargeIn;
    if (verb.bargeIn && !segment.collect) ignoredBargeIn.push(prompt.index);
    prompt.interruptible = verb.bargeIn && segment.collect !== undefined;
  }
}
