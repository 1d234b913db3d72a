/**
 * A loopback double of Azure AI Speech text to speech (REST):
 * - `POST /sts/v1.0/issueToken` with `Ocp-Apim-Subscription-Key`: a JWT as text/plain, or 401 with
 *   API Management's `{error:{code,message}}`;
 * - `POST /cognitiveservices/v1`: `Ocp-Apim-Subscription-Key` or `Authorization: Bearer <issued token>`
 *   (401, empty body, otherwise), `Content-Type: application/ssml+xml` (415), a known raw PCM
 *   `X-Microsoft-OutputFormat` (400), a `User-Agent`, and a well-formed `<speak version xml:lang>`
 *   document with a `<voice name>` (400 with an empty body, as Azure answers bad SSML). Audio is a
 *   tone at the format's rate, chunked in odd byte sizes; scripts hold chunks behind gates, cut the
 *   connection, send an empty 200, stall, or answer any status.
 * Every request is recorded with its headers and raw body.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, neverAnswer, receive } from './fake-vendor-server.js';
import { writeTone, type ToneStreamScript } from './tts-http-server.js';

export const AZURE_TEST_KEY = '0123456789abcdef0123456789abcdef';

const RAW_FORMATS: Record<string, number> = {
  'raw-8khz-16bit-mono-pcm': 8000,
  'raw-16khz-16bit-mono-pcm': 16000,
  'raw-22050hz-16bit-mono-pcm': 22050,
  'raw-24khz-16bit-mono-pcm': 24000,
  'raw-44100hz-16bit-mono-pcm': 44100,
  'raw-48khz-16bit-mono-pcm': 48000,
};

export interface RecordedAzureRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface AzureScript extends ToneStreamScript {
  /** Answer 200 and end without a byte of audio. */
  empty?: boolean;
  /** Never answer (no headers). */
  stallBeforeHeaders?: boolean;
  /** Send the 200 headers and then nothing. */
  stallAfterHeaders?: boolean;
  /** Answer this status (and body) instead of audio. */
  reply?: { status: number; body?: string; contentType?: string };
}

export class AzureTtsDouble extends LoopbackDouble {
  readonly requests: RecordedAzureRequest[] = [];
  readonly scripts: AzureScript[] = [];
  /** Tokens this double issued and still honours; a test may delete one to revoke it. */
  readonly validTokens = new Set<string>();
  tokensIssued = 0;
  /** Accept issueToken requests and never answer them. */
  stallTokens = false;

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    const recorded = { method: received.method, path: received.url.split('?')[0]!, headers: received.headers, body: received.text };
    this.requests.push(recorded);
    await this.route(recorded, res);
  }

  synthesisRequests(): RecordedAzureRequest[] {
    return this.requests.filter((r) => r.path === '/cognitiveservices/v1');
  }

  private async route(req: RecordedAzureRequest, res: ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.path === '/sts/v1.0/issueToken') return this.issueToken(req, res);
    if (req.method === 'POST' && req.path === '/cognitiveservices/v1') return this.synthesize(req, res);
    res.writeHead(404);
    res.end();
  }

  private async issueToken(req: RecordedAzureRequest, res: ServerResponse): Promise<void> {
    if (this.stallTokens) return new Promise<void>(() => {});
    if (req.headers['ocp-apim-subscription-key'] !== AZURE_TEST_KEY) return accessDenied(res);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ region: 'loopback', iat: now, exp: now + 600, n: ++this.tokensIssued })}.${b64('sig')}`;
    this.validTokens.add(token);
    res.writeHead(200, { 'content-type': 'text/plain; charset=us-ascii' });
    res.end(token);
  }

  private async synthesize(req: RecordedAzureRequest, res: ServerResponse): Promise<void> {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const keyOk = req.headers['ocp-apim-subscription-key'] === AZURE_TEST_KEY;
    if (!keyOk && !(bearer && this.validTokens.has(bearer))) return status(res, 401);
    if (!(req.headers['content-type'] ?? '').startsWith('application/ssml+xml')) return status(res, 415);
    const rate = RAW_FORMATS[String(req.headers['x-microsoft-outputformat'] ?? '')];
    if (!rate || !req.headers['user-agent'] || !ssmlAcceptable(req.body)) return status(res, 400);

    const script = this.scripts.shift() ?? {};
    if (script.reply) {
      res.writeHead(script.reply.status, script.reply.contentType ? { 'content-type': script.reply.contentType } : {});
      return void res.end(script.reply.body ?? '');
    }
    if (script.stallBeforeHeaders) return neverAnswer();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'x-requestid': `r${this.requests.length}` });
    if (script.stallAfterHeaders) {
      res.flushHeaders();
      return neverAnswer();
    }
    if (script.empty) return void res.end();
    await writeTone(res, script, rate);
  }
}

function status(res: ServerResponse, code: number): void {
  res.writeHead(code, { 'content-length': '0' });
  res.end();
}

function accessDenied(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: {
        code: '401',
        message:
          'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      },
    }),
  );
}

/** Well-formed XML whose root is `<speak version=... xml:lang=...>` holding a `<voice name=...>`. */
export function ssmlAcceptable(ssml: string): boolean {
  const doc = ssml.replace(/^\s*<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '').trim();
  if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(doc)) return false;
  const root = /^<speak\b([^>]*)>/.exec(doc);
  if (!root || !/\sversion\s*=/.test(root[1]) || !/\sxml:lang\s*=/.test(root[1])) return false;
  if (!/<voice\b[^>]*\sname\s*=\s*["'][^"']+["']/.test(doc)) return false;
  const stack: string[] = [];
  const tags = /<(\/?)([\w:-]+)[^>]*?(\/?)>/g;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = tags.exec(doc))) {
    if (/[<>]/.test(doc.slice(last, m.index))) return false;
    last = m.index + m[0].length;
    if (m[3]) continue;
    if (m[1]) {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2]);
  }
  return stack.length === 0 && doc.endsWith('</speak>') && !doc.slice(last).includes('<');
}

export async function startAzureTtsDouble(): Promise<AzureTtsDouble> {
  return new AzureTtsDouble().start();
}
