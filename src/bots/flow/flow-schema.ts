/**
 * Flow definitions for the local flow bot: a named set of steps (say, play, pause, collect digits,
 * transfer, hang up, go to) loaded from YAML or JSON, validated with every step reference checked
 * at load so a broken flow fails at start-up, not in the middle of a call.
 */
import { readFile } from 'node:fs/promises';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import { z } from 'zod';

export class FlowError extends Error {
  override name = 'FlowError';
}

const stepName = z.string().min(1, 'must name a step');
const digitKey = /^[0-9*#]{1,20}$/;

const collectSchema = z
  .object({
    maxDigits: z.number().int().min(1).max(20).default(1),
    submitDigit: z.enum(['#', '*']).optional(),
    interDigitTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** No-input timeout: after it the gateway sends `noUserInput` and the flow takes `timeout`. */
    timeoutMs: z.number().int().min(500).max(600_000).default(5000),
    prompt: z.string().min(1).optional(),
    branches: z.record(z.string().regex(digitKey, 'branch keys are DTMF digits (0-9 * #)'), stepName),
    noMatch: stepName.optional(),
    timeout: stepName.optional(),
  })
  .strict();

const playSchema = z.union([
  z.string(),
  z
    .object({
      url: z.string(),
      /** bot-api playUrlMediaFormat: wav/lpcm16, raw/lpcm16, raw/mulaw... */
      mediaFormat: z.string().optional(),
      altText: z.string().optional(),
    })
    .strict(),
]);

const transferSchema = z.union([
  z.string(),
  z
    .object({
      target: z.string(),
      reason: z.string().optional(),
      sipHeaders: z.array(z.object({ name: z.string().min(1), value: z.string() }).strict()).optional(),
    })
    .strict(),
]);

const stepSchema = z
  .object({
    /** Spoken with TTS; text starting with <speak> is SSML. */
    say: z.string().min(1).optional(),
    play: playSchema.optional(),
    /** Silence in seconds. */
    pause: z.number().positive().max(60).optional(),
    collect: collectSchema.optional(),
    transfer: transferSchema.optional(),
    /** `true` or the hangup reason sent to the gateway. */
    hangup: z.union([z.literal(true), z.string().min(1)]).optional(),
    next: stepName.optional(),
    /** Same as `next`; reads better on a step that does nothing else. */
    goto: stepName.optional(),
    /** Entering the step more often than this goes to `exhausted` instead (a retry limit). */
    maxVisits: z.number().int().min(1).optional(),
    exhausted: stepName.optional(),
  })
  .strict();

const flowSchema = z
  .object({
    name: z.string().min(1),
    language: z.string().min(2).default('en-US'),
    start: stepName,
    steps: z.record(z.string().min(1), stepSchema),
  })
  .strict();

export type FlowDefinition = z.input<typeof flowSchema>;
export type Flow = z.output<typeof flowSchema>;
export type FlowStep = z.output<typeof stepSchema>;
export type FlowCollect = z.output<typeof collectSchema>;

/** Validates a parsed flow; throws a FlowError naming the flow, step and field. */
export function validateFlow(input: unknown, source = 'flow'): Flow {
  const name =
    input && typeof input === 'object' && typeof (input as { name?: unknown }).name === 'string'
      ? `flow "${(input as { name: string }).name}"`
      : source;
  const parsed = flowSchema.safeParse(input);
  if (!parsed.success) {
    throw new FlowError(parsed.error.issues.map((i) => `${name}: ${describePath(i.path)}${issueText(i)}`).join('; '));
  }
  const flow = parsed.data;
  const problems: string[] = [];
  const known = (ref: string | undefined, where: string) => {
    if (ref !== undefined && !(ref in flow.steps)) problems.push(`${where} points to unknown step "${ref}"`);
  };
  if (Object.keys(flow.steps).length === 0) problems.push('steps: a flow needs at least one step');
  known(flow.start, 'start');
  for (const [id, step] of Object.entries(flow.steps)) {
    const at = `step "${id}": `;
    for (const problem of stepProblems(step)) problems.push(at + problem);
    known(step.next, `${at}next`);
    known(step.goto, `${at}goto`);
    known(step.exhausted, `${at}exhausted`);
    if (step.collect) {
      for (const [digits, target] of Object.entries(step.collect.branches)) known(target, `${at}collect.branches."${digits}"`);
      known(step.collect.noMatch, `${at}collect.noMatch`);
      known(step.collect.timeout, `${at}collect.timeout`);
    }
  }
  if (problems.length) throw new FlowError(problems.map((p) => `${name}: ${p}`).join('; '));
  return flow;
}

function stepProblems(step: FlowStep): string[] {
  const out: string[] = [];
  const exits = (['collect', 'transfer', 'hangup', 'next', 'goto'] as const).filter((k) => step[k] !== undefined);
  if (exits.length === 0) out.push('has no way on: add next, goto, collect, transfer or hangup');
  if (exits.length > 1) out.push(`has ${exits.join(' and ')}; a step ends in exactly one of them`);
  if ((step.maxVisits === undefined) !== (step.exhausted === undefined)) out.push('maxVisits and exhausted go together');
  if (step.collect && Object.keys(step.collect.branches).length === 0 && !step.collect.noMatch) {
    out.push('collect: needs branches or noMatch');
  }
  if (step.collect?.submitDigit && Object.keys(step.collect.branches).some((k) => k.includes(step.collect!.submitDigit!))) {
    out.push(`collect.branches: a key contains the submit digit "${step.collect.submitDigit}"`);
  }
  if (step.play !== undefined) {
    const url = typeof step.play === 'string' ? step.play : step.play.url;
    if (!/^(https?|file|data):/i.test(url) || !URL.canParse(url)) {
      out.push(`play: "${url.slice(0, 80)}" is not an http(s), file or data URL`);
    }
  }
  if (step.transfer !== undefined) {
    const target = typeof step.transfer === 'string' ? step.transfer : step.transfer.target;
    if (!/^(tel:\+?[0-9*#]{2,32}|sips?:[^\s@]+@[^\s]+|sips?:[^\s]+)$/i.test(target)) {
      out.push(`transfer: "${target}" is not a tel: or sip: URI`);
    }
  }
  return out;
}

function issueText(issue: z.ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return issue.message;
}

function describePath(path: (string | number)[]): string {
  if (path.length === 0) return '';
  let out = '';
  let rest = path;
  if (path[0] === 'steps' && path.length >= 2) {
    out = `step "${path[1]}": `;
    rest = path.slice(2);
  }
  const field = rest.map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_]\w*$/.test(p) ? p : `"${p}"`)).join('.');
  return field ? `${out}${field}: ` : out;
}

/** Parses YAML or JSON flow text. */
export function parseFlow(text: string, source = 'flow'): Flow {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const firstLine = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new FlowError(`${source}: invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${firstLine}`);
    }
    throw new FlowError(`${source}: cannot parse: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new FlowError(`${source}: expected a mapping with name, start and steps`);
  return validateFlow(doc, source);
}

/** Loads a flow from a YAML/JSON file path, or validates an already-parsed object. */
export async function loadFlow(pathOrObject: string | FlowDefinition | Record<string, unknown>): Promise<Flow> {
  if (typeof pathOrObject !== 'string') return validateFlow(pathOrObject);
  let text: string;
  try {
    text = await readFile(pathOrObject, 'utf8');
  } catch (err) {
    throw new FlowError(`flow file "${pathOrObject}": cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseFlow(text, `flow file "${pathOrObject}"`);
}
