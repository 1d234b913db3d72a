/**
 * Browser tests of the console: a fresh Vite build of src/ui in a temp dir, served by the real
 * console-routes plugin on a loopback Fastify that forwards /api and /oauth to a running gateway
 * (same origin, as `voxgate serve` has it), and headless Chromium through playwright-core.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { consoleRoutes } from '../../src/api/console-routes.js';
import { resample } from '../../src/media/resample.js';
import { readWavFile, writeWavFile } from '../../src/media/wav.js';
import { startE2e, type E2eSetup } from './e2e-gateway.js';

export const CHROMIUM_PATH = process.env.VOXGATE_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'console');

/** Builds the console with the project's vite.config.ts into a temp dir (the tests see the current source). */
export async function buildConsole(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vg-console-'));
  await build({ configFile: join(process.cwd(), 'vite.config.ts'), logLevel: 'silent', build: { outDir: dir, emptyOutDir: true, sourcemap: false } });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'host', 'upgrade']);

/** Forwards a request to the gateway with fetch; streams the answer back (the alarm SSE stream too). */
async function forward(gatewayUrl: string, request: FastifyRequest, reply: FastifyReply) {
  const controller = new AbortController();
  // A closed browser tab ends the upstream request too, so an SSE stream does not outlive it.
  reply.raw.once('close', () => controller.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && Buffer.isBuffer(request.body);
  const upstream = await fetch(`${gatewayUrl}${request.url}`, { method: request.method, headers, body: hasBody ? new Uint8Array(request.body as Buffer) : undefined, signal: controller.signal, redirect: 'manual' });
  reply.code(upstream.status);
  upstream.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) reply.header(name, value);
  });
  if (!upstream.body) return reply.send();
  return reply.send(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream<Uint8Array>));
}

/**
 * Forwards WebSocket upgrades under /api (the live calls stream) to the gateway byte for byte: the
 * upgrade request is replayed on a TCP connection to it and both sockets are piped, so the frames
 * and close codes the browser sees are the gateway's own.
 */
function forwardUpgrades(app: FastifyInstance, gatewayUrl: () => string): void {
  const open = new Set<Socket>();
  app.server.on('upgrade', (request: IncomingMessage, client: Socket, head: Buffer) => {
    if (!request.url?.startsWith('/api/')) return client.destroy();
    const target = new URL(gatewayUrl());
    const upstream = connect(Number(target.port), target.hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.once('connect', () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) {
        const name = request.rawHeaders[i];
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? target.host : request.rawHeaders[i + 1]}`);
      }
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
  });
  // Upgraded sockets are no longer the HTTP server's: close them so app.close() does not wait on them.
  app.addHook('preClose', async () => {
    for (const socket of open) socket.destroy();
  });
}

/**
 * A loopback Fastify with console-routes, forwarding /api/*, /oauth/* and /webrtc/* (browser calls'
 * WHIP) and /api WebSocket upgrades to the gateway. `gatewayUrl` may be a function, read per request,
 * for a gateway started after this server (one that must know this server's URL as a public URL).
 */
export async function startConsoleServer(gatewayUrl: string | (() => string), distDir: string, opts: { forwardWebSockets?: boolean } = {}): Promise<{ app: FastifyInstance; url: string }> {
  const gateway = typeof gatewayUrl === 'string' ? () => gatewayUrl : gatewayUrl;
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  // Bodies pass through untouched: the gateway parses them itself.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(consoleRoutes, { distDir });
  for (const prefix of ['/api/*', '/oauth/*', '/webrtc/*']) app.all(prefix, (request, reply) => forward(gateway(), request, reply));
  // Without it every upgrade is refused, as behind a proxy that does not pass WebSockets.
  if (opts.forwardWebSockets ?? true) forwardUpgrades(app, gateway);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/** `extraArgs`: e.g. the fake microphone flags of browser-call tests (fakeMicrophoneArgs). */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs] });
}

/**
 * Chromium flags for a microphone that plays `wav` (16-bit PCM) in a loop, granted without a prompt:
 * getUserMedia gets it as a real capture device, with the browser's audio processing.
 */
export function fakeMicrophoneArgs(wav: string): string[] {
  return ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Logs in on the console's login page with the static admin token. */
export async function loginWithToken(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(`${consoleUrl}/console/`);
  // A login kept from an earlier test of the same page is dropped first.
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await page.getByLabel('Token (api.token)').fill(token);
  await page.getByRole('button', { name: 'Log in with token' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

export const ADMIN_TOKEN = 'console-test-admin-token';

export interface ConsoleE2e {
  e2e: E2eSetup;
  consoleUrl: string;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** Gateway + simulator (with the static admin token), console server, Chromium with one page. */
export async function startConsoleE2e(rawConfig: Record<string, unknown>, opts: { forwardWebSockets?: boolean } = {}): Promise<ConsoleE2e> {
  const built = await buildConsole();
  const e2e = await startE2e({ ...rawConfig, api: { token: ADMIN_TOKEN } });
  const server = await startConsoleServer(e2e.gateway.publicUrl, built.dir, opts);
  return openConsoleE2e({ e2e, server, built, browser: await launchChromium() });
}

/** The console in a fresh page of `browser`; close() stops the browser, the console server, the gateway and the build, then `cleanup`. */
async function openConsoleE2e(parts: { e2e: ConsoleE2e['e2e']; server: { app: FastifyInstance; url: string }; built: { remove(): Promise<void> }; browser: Browser }, cleanup: () => Promise<void> = async () => undefined): Promise<ConsoleE2e> {
  const { e2e, server, built, browser } = parts;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Short waits: every step waits on a selector, and a missing one should fail fast with its name.
  page.setDefaultTimeout(15_000);
  return {
    e2e,
    consoleUrl: server.url,
    browser,
    page,
    async close() {
      await browser.close();
      await server.app.close();
      await e2e.close();
      await built.remove();
      await cleanup();
    },
  };
}

export const SPEECH_DIR = '/usr/share/asterisk/sounds/en';
export const HAS_SPEECH = existsSync(SPEECH_DIR);

/**
 * A fake microphone's WAV (16-bit PCM, 48 kHz, as Chromium wants it): two Asterisk prompts, each
 * after 1.5 s of silence, so a level meter sees speech come and go while it loops.
 */
export async function writeSpeechWav(dir: string): Promise<string> {
  const rate = 48_000;
  const gap = new Int16Array(rate * 1.5);
  const parts: Int16Array[] = [];
  for (const prompt of ['call-forwarding.wav', 'auth-thankyou.wav']) {
    const wav = await readWavFile(join(SPEECH_DIR, prompt));
    parts.push(gap, resample(wav.samples, wav.sampleRate, rate));
  }
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (samples.set(p, at), at + p.length), 0);
  const path = join(dir, 'fake-microphone.wav');
  await writeWavFile(path, samples, rate);
  return path;
}

export interface BrowserCallE2e extends ConsoleE2e {
  /** Where the test's files live (the fake microphone's WAV); removed by close(). */
  tempDir: string;
}

/**
 * Like startConsoleE2e, for browser calls: Chromium's microphone plays speech, and the console server
 * (which also forwards /webrtc) is one of the gateway's public URLs, as a reverse proxy in front of it
 * would be, so the console's own origin may call with the operator's token.
 */
export async function startBrowserCallE2e(rawConfig: Record<string, unknown>): Promise<BrowserCallE2e> {
  const tempDir = await mkdtemp(join(tmpdir(), 'vg-browser-call-'));
  const wav = await writeSpeechWav(tempDir);
  const built = await buildConsole();
  let gatewayUrl = '';
  const server = await startConsoleServer(() => gatewayUrl, built.dir);
  // Media on loopback only: the gateway's ICE binds 127.0.0.1, and Chromium offers loopback candidates (off by default).
  const e2e = await startE2e({ ...rawConfig, api: { token: ADMIN_TOKEN }, server: { publicUrls: [server.url] }, carriers: { webrtc: { interfaceAddress: '127.0.0.1' } } });
  gatewayUrl = e2e.gateway.publicUrl;
  const browser = await launchChromium([...fakeMicrophoneArgs(wav), '--allow-loopback-in-peer-connection']);
  const session = await openConsoleE2e({ e2e, server, built, browser }, () => rm(tempDir, { recursive: true, force: true }));
  return { ...session, tempDir };
}
