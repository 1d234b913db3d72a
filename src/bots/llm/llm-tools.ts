/**
 * The tools offered to the model: the built-in call-control tools (mapped to bot-api events) and
 * user-defined HTTP tools (called with the model's JSON arguments; the answer goes back to the model).
 */
import { eventActivity, type Activity } from '../activity.js';

export interface LlmHttpTool {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
  url: string;
  /** Default POST (arguments as JSON body); GET sends them as query parameters. */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
}

export const BUILTIN_TOOL_NAMES = ['transfer_call', 'hang_up', 'send_dtmf'] as const;
export type BuiltinToolName = (typeof BUILTIN_TOOL_NAMES)[number];

const BUILTIN_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'transfer_call',
      description: 'Transfer the caller to a human agent or another number. Say a short goodbye first.',
      parameters: {
        type: 'object',
        properties: {
          target: { type: 'string', description: 'Where to transfer: a tel: or sip: URI, or a phone number.' },
          reason: { type: 'string', description: 'Why the call is transferred.' },
        },
        required: ['target'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'hang_up',
      description: 'End the call. Say goodbye before calling this.',
      parameters: { type: 'object', properties: { reason: { type: 'string', description: 'Why the call ends.' } } },
    },
  },
  {
    type: 'function',
    function: {
      name: 'send_dtmf',
      description: 'Send touch-tone digits on the call (e.g. to navigate a phone menu).',
      parameters: {
        type: 'object',
        properties: { digits: { type: 'string', description: 'Digits 0-9, * and #, at most 20.' } },
        required: ['digits'],
      },
    },
  },
];

/** The `tools` array of the request: built-ins then the user-defined tools. */
export function toolDefinitions(httpTools: readonly LlmHttpTool[]): unknown[] {
  return [
    ...BUILTIN_TOOLS,
    ...httpTools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })),
  ];
}

export function isBuiltinTool(name: string): name is BuiltinToolName {
  return (BUILTIN_TOOL_NAMES as readonly string[]).includes(name);
}

/** A built-in tool call as an activity, or an error text the model gets back to correct itself. */
export function builtinToolActivity(name: BuiltinToolName, args: Record<string, unknown>): { activity: Activity } | { error: string } {
  switch (name) {
    case 'transfer_call': {
      if (typeof args.target !== 'string' || args.target.trim() === '') return { error: 'transfer_call needs "target" (a tel: or sip: URI)' };
      const activityParams: Record<string, unknown> = { transferTarget: transferUri(args.target.trim()) };
      if (typeof args.reason === 'string' && args.reason) activityParams.handoverReason = args.reason;
      return { activity: eventActivity('transfer', { activityParams }) };
    }
    case 'hang_up': {
      const reason = typeof args.reason === 'string' && args.reason ? args.reason : 'completed';
      return { activity: eventActivity('hangup', { activityParams: { hangupReason: reason } }) };
    }
    case 'send_dtmf': {
      const digits = typeof args.digits === 'string' || typeof args.digits === 'number' ? String(args.digits).replace(/\s+/g, '') : '';
      if (!/^[0-9*#]{1,20}$/.test(digits)) return { error: `send_dtmf needs "digits": 1 to 20 of 0-9 * #, got ${JSON.stringify(args.digits)}` };
      return { activity: eventActivity('sendDtmf', { activityParams: { dtmfDigits: digits } }) };
    }
  }
}

/** Models often give a bare number; the gateway expects a tel: or sip: URI. */
function transferUri(target: string): string {
  if (/^(tel|sip|sips):/i.test(target)) return target;
  if (/^\+?[0-9][0-9\s().-]*$/.test(target)) return `tel:${target.replace(/[\s().-]/g, '')}`;
  return target;
}

/** Longest tool answer handed back to the model (a runaway API answer must not blow the context). */
const MAX_TOOL_RESULT_CHARS = 8000;

/**
 * Calls a user-defined HTTP tool. Never rejects on HTTP or network errors: the model gets the error
 * as the tool result and can tell the caller (rejects only when `signal` aborts).
 */
export async function callHttpTool(tool: LlmHttpTool, args: Record<string, unknown>, signal: AbortSignal): Promise<string> {
  const method = tool.method ?? 'POST';
  let url = tool.url;
  const init: RequestInit = { method, headers: { accept: 'application/json', ...tool.headers }, signal };
  if (method === 'GET' || method === 'DELETE') {
    const u = new URL(tool.url);
    for (const [k, v] of Object.entries(args)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    url = u.toString();
  } else {
    init.headers = { 'content-type': 'application/json', ...init.headers };
    init.body = JSON.stringify(args);
  }
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    const clipped = text.length > MAX_TOOL_RESULT_CHARS ? `${text.slice(0, MAX_TOOL_RESULT_CHARS)}…` : text;
    if (!response.ok) return `error: ${method} ${tool.url} answered ${response.status} ${response.statusText}: ${clipped}`;
    return clipped;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    return `error: ${method} ${tool.url} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
