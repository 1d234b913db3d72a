/**
 * A loopback double of Amazon Polly `POST /v1/speech` (SynthesizeSpeech, restJson1).
 * - Verifies AWS Signature Version 4 independently of the client's signer (node:crypto HMAC per the
 *   AWS spec): canonical request, string to sign, derived signing key. Failures answer as AWS does:
 *   403 with `x-amzn-ErrorType` (MissingAuthenticationTokenException, IncompleteSignatureException,
 *   UnrecognizedClientException, InvalidSignatureException) and `{ "message": ... }`.
 * - Validates the body (ValidationException, InvalidSampleRateException, InvalidSsmlException,
 *   TextLengthExceededException) and streams a tone as raw PCM16 LE at SampleRate with
 *   `Content-Type: audio/pcm`, chunked in odd sizes; gates let a test hold chunks back.
 * Every request is recorded with its headers, raw body and parsed body.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, receive } from './fake-vendor-server.js';
import { writeTone, type ToneStreamScript } from './tts-http-server.js';

export const POLLY_TEST_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE7TESTKEY', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

export interface RecordedPollyRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: Record<string, unknown> | undefined;
}

export interface PollyScript extends ToneStreamScript {
  /** Answer with a Polly error. */
  error?: { status: number; type: string; message: string };
  /** Answer 200 with this content type and body instead of audio. */
  raw?: { contentType: string; body: string };
  /** Never answer (not even headers). */
  silent?: boolean;
  /** Send the 200 headers, then nothing. */
  headersOnly?: boolean;
}

const SERVICE = 'polly';
const MAX_SKEW_MS = 5 * 60 * 1000;
const POLLY_ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazonaws.tts/';

export class PollyDouble extends LoopbackDouble {
  readonly requests: RecordedPollyRequest[] = [];
  readonly scripts: PollyScript[] = [];
  /** Access key id -> secret (and session token, for temporary credentials) the double accepts. */
  readonly keys = new Map<string, { secret: string; sessionToken?: string }>([[POLLY_TEST_CREDENTIALS.accessKeyId, { secret: POLLY_TEST_CREDENTIALS.secretAccessKey }]]);
  region = 'us-east-1';

  constructor() {
    super({
      onRouteError: (err, res) => {
        if (!res.headersSent) pollyError(res, 500, 'ServiceFailureException', String(err));
        else res.destroy();
      },
    });
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    const recorded = { method: received.method, url: received.url, headers: received.headers, raw: received.raw, body: received.json as Record<string, unknown> | undefined };
    this.requests.push(recorded);
    await this.route(req, recorded, res);
  }

  private async route(req: IncomingMessage, recorded: RecordedPollyRequest, res: ServerResponse): Promise<void> {
    const auth = this.verifySignature(req, recorded.raw);
    if (auth) return pollyError(res, auth.status, auth.type, auth.message);
    if (recorded.method !== 'POST' || recorded.url.split('?')[0] !== '/v1/speech') {
      return pollyError(res, 404, 'UnknownOperationException', `No operation matches ${recorded.method} ${recorded.url}`);
    }
    const body = recorded.body;
    if (!body) return pollyError(res, 400, 'SerializationException', 'Unable to parse the request body as JSON');
    const invalid = validateSpeechRequest(body);
    if (invalid) return pollyError(res, 400, invalid.type, invalid.message);
    const script = this.scripts.shift() ?? {};
    if (script.silent) return;
    if (script.error) return pollyError(res, script.error.status, script.error.type, script.error.message);
    if (script.raw) {
      res.writeHead(200, { 'content-type': script.raw.contentType });
      res.end(script.raw.body);
      return;
    }
    const rate = Number(body.SampleRate ?? 16000);
    res.writeHead(200, {
      'content-type': 'audio/pcm',
      'transfer-encoding': 'chunked',
      'x-amzn-requestcharacters': String((body.Text as string).length),
      'x-amzn-requestid': `req-${this.requests.length}`,
    });
    if (script.headersOnly) {
      res.flushHeaders();
      return;
    }
    await writeTone(res, script, rate);
  }

  /** SigV4 check per the AWS spec; undefined when the signature is valid. */
  private verifySignature(req: IncomingMessage, body: Buffer): { status: number; type: string; message: string } | undefined {
    const authorization = req.headers.authorization;
    if (!authorization) return { status: 403, type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
    const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
    if (!m) {
      return { status: 403, type: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'Signature', 'SignedHeaders' parameters. Authorization=${authorization.slice(0, 40)}` };
    }
    const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m;
    const key = this.keys.get(accessKeyId);
    if (!key) return { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    if (key.sessionToken !== undefined && req.headers['x-amz-security-token'] !== key.sessionToken) {
      return { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    }
    if (service !== SERVICE) return { status: 403, type: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${SERVICE}'. ` };
    if (region !== this.region) return { status: 403, type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region. ` };
    const amzDate = req.headers['x-amz-date'];
    if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
      return { status: 400, type: 'IncompleteSignatureException', message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header." };
    }
    if (amzDate.slice(0, 8) !== scopeDate) return { status: 403, type: 'InvalidSignatureException', message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'` };
    const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
    if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) {
      return { status: 403, type: 'InvalidSignatureException', message: `Signature expired: ${amzDate} is now earlier than the allowed 5 minutes from the server's time.` };
    }
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host')) return { status: 403, type: 'InvalidSignatureException', message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization." };
    if (!signedHeaders.includes('x-amz-date')) return { status: 403, type: 'InvalidSignatureException', message: "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization." };

    // Task 1: the canonical request, built from what actually arrived on the wire.
    const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?');
    const canonicalUri = rawPath.split('/').map((seg) => awsUriEncode(awsUriEncode(decodeURIComponent(seg)))).join('/') || '/';
    const canonicalQuery = rawQuery
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const [k, v = ''] = pair.split('=');
        return [awsUriEncode(decodeURIComponent(k)), awsUriEncode(decodeURIComponent(v))];
      })
      .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalHeaders = signedHeaders
      .map((name) => {
        const value = req.headers[name];
        const text = Array.isArray(value) ? value.join(',') : (value ?? '');
        return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
      })
      .join('');
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const canonicalRequest = [req.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaderList, payloadHash].join('\n');

    // Task 2: the string to sign.
    const scope = `${scopeDate}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');

    // Task 3: the signing key, derived from the secret through date, region and service.
    const hmac = (k: Buffer | string, data: string) => createHmac('sha256', k).update(data, 'utf8').digest();
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secret}`, scopeDate), region), service), 'aws4_request');
    const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      return {
        status: 403,
        type: 'InvalidSignatureException',
        message:
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      };
    }
    return undefined;
  }
}

/** AWS's URI encoding: every byte except unreserved characters (A-Z a-z 0-9 - _ . ~) as %XX, upper case. */
function awsUriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const ENGINES = ['standard', 'neural', 'long-form', 'generative'];

function validateSpeechRequest(body: Record<string, unknown>): { type: string; message: string } | undefined {
  const problems: string[] = [];
  for (const field of ['OutputFormat', 'Text', 'VoiceId'] as const) {
    if (typeof body[field] !== 'string') problems.push(`Value null at '${field[0].toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  if (body.Engine !== undefined && !ENGINES.includes(body.Engine as string)) {
    problems.push(`Value '${String(body.Engine)}' at 'engine' failed to satisfy constraint: Member must satisfy enum value set: [${ENGINES.join(', ')}]`);
  }
  if (body.TextType !== undefined && body.TextType !== 'text' && body.TextType !== 'ssml') {
    problems.push(`Value '${String(body.TextType)}' at 'textType' failed to satisfy constraint: Member must satisfy enum value set: [text, ssml]`);
  }
  if (problems.length) return { type: 'ValidationException', message: `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}` };
  if (body.OutputFormat !== 'pcm') return { type: 'ValidationException', message: `This double serves OutputFormat pcm only, got '${String(body.OutputFormat)}'` };
  if (body.SampleRate !== undefined && body.SampleRate !== '8000' && body.SampleRate !== '16000') {
    return { type: 'InvalidSampleRateException', message: `Invalid sample rate ${JSON.stringify(body.SampleRate)} for output format pcm` };
  }
  const text = body.Text as string;
  if (text.length > 6000) return { type: 'TextLengthExceededException', message: 'Maximum text length has been exceeded' };
  if (body.TextType === 'ssml' && !/^\s*(?:<\?xml[^>]*\?>\s*)?<speak(?:\s[^>]*)?>[\s\S]*<\/speak>\s*$/.test(text)) {
    return { type: 'InvalidSsmlException', message: 'Unsupported Ssml: Root element must be <speak>' };
  }
  return undefined;
}

export function pollyError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:${POLLY_ERROR_NAMESPACE}`,
    'x-amzn-requestid': 'c0ffee00-0000-4000-8000-000000000000',
  });
  res.end(JSON.stringify({ message }));
}

export async function startPollyDouble(): Promise<PollyDouble> {
  return new PollyDouble().start();
}
