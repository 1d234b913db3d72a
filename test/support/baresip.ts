/**
 * A real SIP phone for end-to-end tests: baresip (Debian `baresip-core` 1.0.0) driven over its
 * ctrl_tcp JSON interface (netstring frames `len:json,`), one process per phone, on loopback.
 *
 * baresip 1.0.0 as found by experiment (most points pinned by test/sip/baresip/) and in its source:
 * - Config (`baresip -4 -f DIR`, DIR/config): `sip_listen 127.0.0.1:P`, `net_interface 127.0.0.1`
 *   (else SDP c= and Contact carry eth0's address; `lo` is refused), `module_path`, `module
 *   g711.so|g722.so|aufile.so|sndfile.so`, `module_app menu.so` (owns dial/accept/hangup/sndcode/
 *   transfer/hold/resume/uanew, and is what follows REFERs), `module_app ctrl_tcp.so` +
 *   `ctrl_tcp_listen`, `audio_source aufile,FILE`, `ausrc_srate`, `snd_path`, `rtp_timeout`. The
 *   account is added after start with `uanew <sip:user@domain[;transport=tcp]>;regint=0;
 *   answermode=auto|manual;audio_codecs=PCMU/8000/1,G722/16000/1;auth_pass=..` (an accounts file
 *   would REGISTER before ctrl_tcp is connected, and events sent before that are lost).
 * - Sockets: UDP+TCP on P and TLS on TCP P+1; a busy port (or ctrl port) is only a log line or an
 *   exit, so the harness checks the log and retries on other ports. "baresip is ready." = started.
 * - Incoming INVITEs must name the account user in the Request-URI, else 404. The Contact user is
 *   `user-0x<pointer>`. 180 Ringing always precedes the 200 (also in auto answer), whose reason
 *   phrase is "Answering". The INVITE has an empty `Supported:` header; no session timers.
 * - A call needs an audio source, or the callee never sends its 200. aufile plays a mono PCM16 WAV
 *   at `ausrc_srate` (resampled to the codec) ONCE, and ~1 s after its end baresip hangs up by itself
 *   (AUDIO_ERROR "0,end of file", CALL_CLOSED "end of file", BYE). Hence `microphoneWav` then
 *   `microphoneTailMs` of silence (silence only without a microphone). RTP: ptime 20.
 * - Recording (sndfile): per call `snd_path/dump-YYYY-MM-DD-hh-mm-ss-dec.wav` = what it heard,
 *   decoded, PCM16 mono at the codec rate (8000 PCMU/PCMA, 16000 G.722), written as RTP arrives;
 *   `-enc.wav` = what it sent. Finalised just after CALL_CLOSED. One-second name resolution.
 * - DTMF: ctrl_tcp `sndcode 12#` sends RFC 4733 events (SDP `101 telephone-event/8000`, `0-15`),
 *   ~240 ms per digit, only while the audio source runs. SIP INFO cannot be sent. Received digits
 *   (RFC 4733, and by the source also INFO `application/dtmf-relay`) surface as CALL_DTMF_START
 *   (param = digit) and CALL_DTMF_END events.
 * - Reject: `hangup` on a ringing call answers "486 Rejected" (after the 180); no command or config
 *   gives another code, so no 603. The caller's CALL_CLOSED param is "486 Rejected".
 * - REFER (blind transfer, menu.so): 202 Accepted, NOTIFY sipfrag "SIP/2.0 100 Trying"
 *   (Subscription-State active;expires=60, Event: refer;id=<REFER CSeq>), then a new INVITE (new
 *   Call-ID, From = its own AOR, no Referred-By/Replaces) to the Refer-To URI, then NOTIFY "SIP/2.0
 *   200 OK" or the target's failure ("SIP/2.0 486 Rejected"), terminated;reason=noresource. No NOTIFY
 *   for 18x. The sipfrag line ends in LF, not CRLF. The first call stays up until the transferor's
 *   BYE. Events: TRANSFER (param = Refer-To) and TRANSFER_FAILED - no CALL_ prefix in 1.0.0.
 * - re-INVITEs are answered (hold: sendonly -> recvonly, resume: sendrecv) with "200 OK";
 *   events CALL_REMOTE_SDP offer/answer only.
 * - rtp_timeout is off by default: a call whose RTP stops stays up forever. With `rtp_timeout N`,
 *   checked each second once RTP has flowed and only while sendrecv, it sends BYE and reports
 *   CALL_CLOSED "rtp stream error".
 * - Over TCP the callee sent its BYE on a new connection to the caller's Contact port, not on the
 *   connection the INVITE came in on.
 * - Events: CALL_INCOMING (manual answer only), CALL_RINGING, CALL_PROGRESS (183 with SDP),
 *   CALL_ESTABLISHED, CALL_RTPESTAB, CALL_CLOSED (param: "Connection reset by peer" = BYE received,
 *   "Connection reset by user" = own hangup, "<code> <reason>" = final failure response),
 *   CALL_LOCAL_SDP / CALL_REMOTE_SDP, CALL_RTCP, REGISTERING / REGISTER_OK / REGISTER_FAIL. `id` is
 *   the SIP Call-ID. Extra headers on a dialled call: no command for them in 1.0.0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, readWavFile } from '../../src/media/wav.js';

export const BARESIP_PATH = process.env.VOXGATE_BARESIP ?? '/usr/bin/baresip';
export const BARESIP_MODULE_PATH = process.env.VOXGATE_BARESIP_MODULES ?? '/usr/lib/baresip/modules';
/** baresip and the modules the harness loads are installed (`apt-get install baresip-core`). */
export const BARESIP_AVAILABLE =
  existsSync(BARESIP_PATH) &&
  ['ctrl_tcp.so', 'menu.so', 'aufile.so', 'sndfile.so', 'g711.so'].every((m) => existsSync(join(BARESIP_MODULE_PATH, m)));
/** Why the baresip tests skip, for a describe name or a console note. */
export const BARESIP_SKIP_REASON = BARESIP_AVAILABLE ? '' : `baresip not found (${BARESIP_PATH}, modules in ${BARESIP_MODULE_PATH}): apt-get install baresip-core`;

export type BaresipCodec = 'PCMU' | 'PCMA' | 'G722';

export interface BaresipOptions {
  /** For logs and error messages; also the SIP user unless `account` names one. */
  name: string;
  /** UDP+TCP SIP port on 127.0.0.1 (baresip also binds TLS on sipPort+1). 0 or absent: a free one. */
  sipPort?: number;
  /** Transport of outgoing calls (baresip always listens on both). Default udp. */
  transport?: 'udp' | 'tcp';
  /** Offered/accepted in this order. Default PCMU, PCMA. */
  codecs?: BaresipCodec[];
  /**
   * WAV (any rate, mono or stereo PCM16 / G.711) played as the microphone ONCE from the start of each
   * call's media, followed by `microphoneTailMs` of silence; then baresip ends the call by itself.
   */
  microphoneWav?: string;
  /** Silence after the microphone WAV (or alone without one). Default 120 000 ms. */
  microphoneTailMs?: number;
  /** Record what it hears (sndfile): see recordings(). */
  record?: boolean;
  /** Answer incoming calls at once (answermode auto: 180 then 200). Default: incoming calls ring until answer(). */
  autoAnswer?: boolean;
  /** Reject incoming calls. baresip 1.0.0 can only send "486 Rejected" (see the header comment). */
  rejectWith?: 486;
  /**
   * Digest credentials (answers 401/407 challenges of outgoing calls). With `registrar`
   * (host[:port]) the account's domain is the registrar and it REGISTERs there; without, its
   * domain is 127.0.0.1 and it does not register.
   */
  account?: { user: string; password?: string; registrar?: string };
  /**
   * Ends a call when no RTP arrived for this many seconds (checked each second, only once RTP has
   * started and only while the stream is sendrecv): BYE, CALL_CLOSED "rtp stream error". Default off.
   */
  rtpTimeoutSec?: number;
  /** Print every SIP message to the log (`baresip -s`). */
  sipTrace?: boolean;
  /** Extra lines appended to the config file (e.g. `call_max_calls 1`). */
  extraConfig?: string[];
}

/** One ctrl_tcp event as baresip sent it. */
export interface BaresipEvent {
  /** e.g. CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, CALL_DTMF_START, TRANSFER */
  type: string;
  class: string;
  accountaor?: string;
  direction?: 'incoming' | 'outgoing';
  peeruri?: string;
  /** The SIP Call-ID. */
  id?: string;
  param?: string;
  /** Milliseconds since the phone started, when the harness read it. */
  at: number;
  [key: string]: unknown;
}

interface CtrlResponse {
  response: true;
  ok: boolean;
  data: string;
  token?: string;
}

// eslint-disable-next-line no-control-regex -- the escape character is the point
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;
const READY_LINE = 'baresip is ready.';
const START_TIMEOUT_MS = 10_000;
const DEFAULT_EVENT_TIMEOUT_MS = 10_000;
const DEFAULT_TAIL_MS = 120_000;
/** Rates rem's resampler converts to and from the codec rates. */
const SOURCE_RATES = new Set([8000, 16000, 32000, 48000]);

const running = new Set<Baresip>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies without afterAll must not leave phones ringing or temp dirs behind.
  process.once('exit', () => {
    for (const phone of running) phone.killNow();
  });
}

/** Binds a TCP socket on 127.0.0.1 to see whether a port is free; 0 asks for any free one. */
function bindTcp(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

function bindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A SIP port whose UDP, TCP and TCP+1 (TLS) are free right now. */
async function freeSipPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindTcp(0);
    if (!port || port >= 65535) continue;
    if ((await bindTcp(port + 1)) && (await bindUdp(port))) return port;
  }
  throw new Error('baresip harness: no free SIP port (UDP+TCP p, TCP p+1) on 127.0.0.1');
}

async function freeTcpPort(): Promise<number> {
  const port = await bindTcp(0);
  if (!port) throw new Error('baresip harness: no free TCP port on 127.0.0.1');
  return port;
}

function linearResample(samples: Int16Array, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const pos = (i * from) / to;
    const j = Math.floor(pos);
    const frac = pos - j;
    const a = samples[j] ?? 0;
    const b = samples[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * frac);
  }
  return out;
}

/** The microphone file aufile can read: mono PCM16 at a rate baresip resamples from, plus the tail. */
async function writeMicrophone(path: string, wav: string | undefined, tailMs: number): Promise<number> {
  let samples: Int16Array = new Int16Array(0);
  let rate = 8000;
  if (wav) {
    const audio = await readWavFile(wav);
    samples = audio.samples;
    rate = audio.sampleRate;
    if (!SOURCE_RATES.has(rate)) {
      samples = linearResample(samples, rate, 16000);
      rate = 16000;
    }
  }
  const out = new Int16Array(samples.length + Math.round((tailMs * rate) / 1000));
  out.set(samples, 0);
  await writeFile(path, encodeWav(out, rate));
  return rate;
}

/** True once libsndfile closed the file: the RIFF size in the header matches the file size. */
async function wavFinalised(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 44) return false;
    const header = Buffer.alloc(8);
    await handle.read(header, 0, 8, 0);
    return header.toString('ascii', 0, 4) === 'RIFF' && header.readUInt32LE(4) === size - 8;
  } finally {
    await handle.close();
  }
}

/** Milliseconds of PCM16 in a WAV being written by libsndfile (44-byte header, rate at byte 24). */
async function recordedMs(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 44) return 0;
    const header = Buffer.alloc(44);
    await handle.read(header, 0, 44, 0);
    const bytesPerSecond = header.readUInt32LE(28);
    return bytesPerSecond > 0 ? ((size - 44) * 1000) / bytesPerSecond : 0;
  } finally {
    await handle.close();
  }
}

/** Events that open and close a call (by Call-ID). */
const CALL_END_EVENTS = new Set(['CALL_CLOSED']);
const CALL_START_EVENTS = new Set(['CALL_INCOMING', 'CALL_RINGING', 'CALL_PROGRESS', 'CALL_ESTABLISHED', 'CALL_LOCAL_SDP', 'CALL_REMOTE_SDP']);

export class Baresip {
  readonly name: string;
  readonly sipPort: number;
  readonly ctrlPort: number;
  /** The phone's address, e.g. sip:alice@127.0.0.1:5072 (;transport=tcp with transport tcp). */
  readonly uri: string;
  /** Its temp dir (config, microphone.wav, recordings/). Deleted by stop(). */
  readonly dir: string;
  readonly events: BaresipEvent[] = [];

  private readonly child: ChildProcess;
  private readonly startedAt = Date.now();
  private readonly options: BaresipOptions;
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private socket: Socket | undefined;
  private inbox = Buffer.alloc(0);
  private nextToken = 1;
  private readonly pending = new Map<string, { resolve(r: CtrlResponse): void; reject(e: Error): void }>();
  private readonly waiters = new Set<() => void>();
  private readonly consumed = new Set<number>();
  /** Call-IDs seen and not yet closed. */
  private readonly openCalls = new Set<string>();
  private stopped = false;
  private frozen = false;

  private constructor(options: BaresipOptions, dir: string, sipPort: number, ctrlPort: number, child: ChildProcess) {
    this.options = options;
    this.name = options.name;
    this.dir = dir;
    this.sipPort = sipPort;
    this.ctrlPort = ctrlPort;
    this.child = child;
    const user = options.account?.user ?? options.name;
    this.uri = `sip:${user}@127.0.0.1:${sipPort}${options.transport === 'tcp' ? ';transport=tcp' : ''}`;
    const collect = (chunk: Buffer) => {
      // Drop the colour escapes baresip puts around warnings.
      this.output += chunk.toString('utf8').replace(ANSI_COLOUR, '');
      this.wake();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      running.delete(this);
      for (const p of this.pending.values()) p.reject(new Error(`${this.name}: baresip exited (${code ?? signal})\n${this.logTail()}`));
      this.pending.clear();
      this.wake();
    });
  }

  /** Writes a config into a temp dir, spawns baresip, waits for "baresip is ready." and connects ctrl_tcp. */
  static async start(options: BaresipOptions): Promise<Baresip> {
    if (!BARESIP_AVAILABLE) throw new Error(BARESIP_SKIP_REASON);
    if (options.rejectWith !== undefined && options.rejectWith !== 486) {
      throw new Error(`baresip 1.0.0 can only reject with 486 (asked for ${String(options.rejectWith)})`);
    }
    if (options.rejectWith && options.autoAnswer) throw new Error(`${options.name}: rejectWith and autoAnswer together`);
    installExitHook();
    const dir = await mkdtemp(join(tmpdir(), `vg-baresip-${options.name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
    try {
      await mkdir(join(dir, 'recordings'));
      const srate = await writeMicrophone(join(dir, 'microphone.wav'), options.microphoneWav, options.microphoneTailMs ?? DEFAULT_TAIL_MS);
      // A port picked here can be taken by another test process before baresip binds it: retry.
      let lastError: Error | undefined;
      for (let attempt = 0; attempt < 5; attempt++) {
        const sipPort = options.sipPort || (await freeSipPort());
        const ctrlPort = await freeTcpPort();
        await writeFile(join(dir, 'config'), configText(options, dir, sipPort, ctrlPort, srate));
        const child = spawn(BARESIP_PATH, ['-4', ...(options.sipTrace ? ['-s'] : []), '-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
        const phone = new Baresip(options, dir, sipPort, ctrlPort, child);
        running.add(phone);
        try {
          await phone.ready();
          return phone;
        } catch (err) {
          lastError = err as Error;
          phone.killNow(false);
          await phone.waitExit(2000);
          if (options.sipPort || !/Address already in use/.test(phone.log)) break;
        }
      }
      throw lastError ?? new Error(`${options.name}: baresip did not start`);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Stops every phone this test process started and has not stopped (for afterEach/afterAll). */
  static async stopAll(): Promise<void> {
    await Promise.all([...running].map((p) => p.stop()));
  }

  /** stdout and stderr so far, without colour escapes. */
  get log(): string {
    return this.output;
  }

  /** Digits received so far (CALL_DTMF_START events), in order. */
  get receivedDtmf(): string {
    return this.events
      .filter((e) => e.type === 'CALL_DTMF_START')
      .map((e) => e.param ?? '')
      .join('');
  }

  /** Places a call (ctrl_tcp `dial`). The account's ;transport=tcp is appended by baresip itself. */
  async dial(uri: string, headers?: Record<string, string>): Promise<void> {
    if (headers && Object.keys(headers).length > 0) {
      throw new Error('baresip 1.0.0 cannot add headers to a dialled call (custom headers are only a C API, no command)');
    }
    // baresip appends the account's URI parameters (;transport=tcp) to what it dials.
    const target = this.options.transport === 'tcp' ? uri.replace(/;transport=[a-z]+/i, '') : uri;
    await this.command('dial', target);
  }

  /** Answers the ringing incoming call (ctrl_tcp `accept`). */
  async answer(): Promise<void> {
    await this.command('accept');
  }

  /** Hangs up the current call: BYE when established, CANCEL when calling out, 486 when ringing in. */
  async hangup(): Promise<void> {
    await this.command('hangup');
  }

  /** Presses keys in the current call: RFC 4733 events, payload type 101 (ctrl_tcp `sndcode`). */
  async sendDtmf(digits: string): Promise<void> {
    if (!/^[0-9*#A-Da-d]+$/.test(digits)) throw new Error(`${this.name}: not DTMF digits: ${JSON.stringify(digits)}`);
    if (this.openCalls.size === 0) throw new Error(`${this.name}: sendDtmf without a call`);
    await this.command('sndcode', digits.toUpperCase());
  }

  /** Blind transfer of the current call: sends REFER with Refer-To `uri` (ctrl_tcp `transfer`). */
  async transfer(uri: string): Promise<void> {
    await this.command('transfer', uri);
  }

  /**
   * Freezes the process (SIGSTOP): it sends no more RTP and answers no SIP, like a phone that lost
   * its network. thaw() (SIGCONT) resumes it; stop() thaws first.
   */
  freeze(): void {
    if (!this.exited && !this.frozen) this.child.kill('SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    if (!this.exited && this.frozen) this.child.kill('SIGCONT');
    this.frozen = false;
  }

  /** Sends a ctrl_tcp command (any long command of baresip's menu) and returns its response text. */
  async command(command: string, params?: string): Promise<string> {
    const socket = this.socket;
    if (!socket || this.exited) throw new Error(`${this.name}: baresip is not running\n${this.logTail()}`);
    const token = String(this.nextToken++);
    const body = JSON.stringify(params === undefined ? { command, token } : { command, params, token });
    const response = await new Promise<CtrlResponse>((resolve, reject) => {
      this.pending.set(token, { resolve, reject });
      socket.write(`${Buffer.byteLength(body)}:${body},`);
    });
    if (!response.ok) throw new Error(`${this.name}: ${command} ${params ?? ''} failed: ${response.data}\n${this.logTail()}`);
    return response.data;
  }

  /**
   * The first event of `type` (matching `match`) not returned by an earlier waitForEvent, waiting up
   * to `timeoutMs` for it. So successive waits for CALL_DTMF_START return the digits in order, and an
   * event that arrived before the wait started is not missed.
   */
  waitForEvent(type: string | readonly string[], timeoutMs = DEFAULT_EVENT_TIMEOUT_MS, match?: (event: BaresipEvent) => boolean): Promise<BaresipEvent> {
    const types = typeof type === 'string' ? [type] : type;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.events.findIndex((e, i) => types.includes(e.type) && !this.consumed.has(i) && (!match || match(e)));
        if (index >= 0) {
          this.consumed.add(index);
          finish();
          resolve(this.events[index]);
          return true;
        }
        if (this.exited) {
          finish();
          reject(new Error(`${this.name}: baresip exited while waiting for ${types.join(' or ')}\n${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${types.join(' or ')} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => void check();
      if (!check()) this.waiters.add(waiter);
    });
  }

  /** Waits until `digits` have arrived as CALL_DTMF_START events (in total, in order). */
  async waitForDtmf(digits: string, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.receivedDtmf.includes(digits)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: DTMF ${digits} not received (got "${this.receivedDtmf}")\n${this.describe()}`);
      await this.nextChange(left);
    }
    return this.receivedDtmf;
  }

  /**
   * WAV files of what the phone heard, one per call (`-dec` dumps, oldest first), once every call
   * has closed and libsndfile has finalised them. Needs `record: true`.
   */
  async recordings(timeoutMs = 5000): Promise<string[]> {
    if (!this.options.record) throw new Error(`${this.name}: started without record: true`);
    if (this.openCalls.size > 0) throw new Error(`${this.name}: recordings() while a call is open (${[...this.openCalls].join(', ')})`);
    const dir = join(this.dir, 'recordings');
    const files = (await readdir(dir))
      .filter((f) => f.endsWith('-dec.wav'))
      .sort()
      .map((f) => join(dir, f));
    const deadline = Date.now() + timeoutMs;
    for (const file of files) {
      // The call object (and its sndfile filter) is freed right after CALL_CLOSED is sent.
      while (!(await wavFinalised(file))) {
        if (Date.now() > deadline) throw new Error(`${this.name}: ${file} not finalised (${(await stat(file)).size} bytes)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return files;
  }

  /**
   * Waits until the current call's recording holds `ms` of received audio (the -dec dump grows as RTP
   * arrives), e.g. to let a microphone file play out before hanging up. Needs `record: true`.
   */
  async waitForHeardMs(ms: number, timeoutMs = ms + DEFAULT_EVENT_TIMEOUT_MS): Promise<void> {
    if (!this.options.record) throw new Error(`${this.name}: started without record: true`);
    const dir = join(this.dir, 'recordings');
    const deadline = Date.now() + timeoutMs;
    let heard = 0;
    for (;;) {
      const newest = (await readdir(dir)).filter((f) => f.endsWith('-dec.wav')).sort().pop();
      if (newest) heard = await recordedMs(join(dir, newest));
      if (heard >= ms) return;
      if (this.exited || Date.now() > deadline) throw new Error(`${this.name}: heard ${heard} ms, not ${ms} ms\n${this.describe()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Quits (ctrl_tcp `quit`: BYE for open calls), SIGKILLs after `timeoutMs`, deletes the temp dir. */
  async stop(timeoutMs = 3000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.thaw();
    if (!this.exited) {
      if (this.socket && !this.socket.destroyed) {
        const body = JSON.stringify({ command: 'quit', token: 'quit' });
        this.socket.write(`${Buffer.byteLength(body)}:${body},`);
      } else {
        this.child.kill('SIGTERM');
      }
      if (!(await this.waitExit(timeoutMs))) {
        this.child.kill('SIGKILL');
        await this.waitExit(2000);
      }
    }
    this.socket?.destroy();
    running.delete(this);
    if (process.env.VOXGATE_BARESIP_KEEP) console.log(`${this.name}: baresip dir kept: ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort (process exit, failed start): SIGKILL and remove the dir. */
  killNow(removeDir = true): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.socket?.destroy();
    running.delete(this);
    if (removeDir && !process.env.VOXGATE_BARESIP_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!this.output.includes(READY_LINE)) {
      if (this.exited) throw new Error(`${this.name}: baresip exited during start (${this.exited.code ?? this.exited.signal})\n${this.log}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: baresip not ready within ${START_TIMEOUT_MS} ms\n${this.log}`);
      await this.nextChange(left);
    }
    // A module that fails to load, ctrl_tcp's port included, is only a warning to baresip; connecting
    // anyway could reach another test's phone on that port.
    const moduleFailure = /^module \S+: .*$|^ctrl_tcp: failed to listen.*$/m.exec(this.output);
    if (moduleFailure) throw new Error(`${this.name}: ${moduleFailure[0]}\n${this.log}`);
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const socket = connect(this.ctrlPort, '127.0.0.1');
      socket.once('connect', () => resolve(socket));
      socket.once('error', (err) => reject(new Error(`${this.name}: ctrl_tcp on ${this.ctrlPort}: ${err.message}\n${this.log}`)));
    });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', () => undefined);
    // ctrl_tcp registers the connection when its accept handler runs; a round trip proves it did.
    // The account is added now, not from an accounts file, so that its REGISTER (sent at once)
    // is seen as events; the round trip also proves ctrl_tcp has taken our connection.
    await this.command('uanew', accountLine(this.options));
    if (this.options.account?.registrar) {
      const registered = await this.waitForEvent(['REGISTER_OK', 'REGISTER_FAIL'], START_TIMEOUT_MS);
      if (registered.type === 'REGISTER_FAIL') throw new Error(`${this.name}: REGISTER failed: ${registered.param ?? ''}\n${this.log}`);
    }
  }

  private receive(chunk: Buffer): void {
    this.inbox = Buffer.concat([this.inbox, chunk]);
    for (;;) {
      const colon = this.inbox.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.inbox.subarray(0, colon).toString('ascii'));
      if (this.inbox.length < colon + 2 + length) return;
      const text = this.inbox.subarray(colon + 1, colon + 1 + length).toString('utf8');
      this.inbox = this.inbox.subarray(colon + 2 + length);
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.output += `[harness] unparsable ctrl_tcp frame: ${text}\n`;
        continue;
      }
      if (message.response === true) {
        const response = message as unknown as CtrlResponse;
        const token = response.token ?? '';
        this.pending.get(token)?.resolve(response);
        this.pending.delete(token);
      } else if (message.event === true) {
        this.onEvent({ ...message, at: Date.now() - this.startedAt } as BaresipEvent);
      }
    }
  }

  private onEvent(event: BaresipEvent): void {
    this.events.push(event);
    if (event.id && CALL_START_EVENTS.has(event.type)) this.openCalls.add(event.id);
    if (event.id && CALL_END_EVENTS.has(event.type)) this.openCalls.delete(event.id);
    if (event.type === 'CALL_INCOMING' && this.options.rejectWith) {
      // Manual answer mode: hangup on a ringing call is baresip's only reject, and it sends 486.
      this.command('hangup').catch((err: Error) => (this.output += `[harness] reject failed: ${err.message}\n`));
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private waitExit(timeoutMs: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private logTail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  private describe(): string {
    const events = this.events.map((e) => `${e.type}${e.param ? `(${e.param})` : ''}`).join(', ');
    return `events: ${events || '(none)'}\n--- ${this.name} log ---\n${this.logTail()}`;
  }
}

const CODEC_NAMES: Record<BaresipCodec, string> = { PCMU: 'PCMU/8000/1', PCMA: 'PCMA/8000/1', G722: 'G722/16000/1' };

function accountLine(options: BaresipOptions): string {
  const user = options.account?.user ?? options.name;
  const domain = options.account?.registrar ?? '127.0.0.1';
  const uriParams = options.transport === 'tcp' ? ';transport=tcp' : '';
  // Without the rate, baresip looks for g722/8000 (G.722's RTP clock rate) and finds nothing.
  const codecs = (options.codecs ?? ['PCMU', 'PCMA']).map((c) => CODEC_NAMES[c]).join(',');
  const params = [
    `regint=${options.account?.registrar ? 600 : 0}`,
    `answermode=${options.autoAnswer ? 'auto' : 'manual'}`,
    `audio_codecs=${codecs}`,
    // The account's own ptime, so the SDP says what the tests assume.
    'ptime=20',
  ];
  if (options.account?.password !== undefined) params.push(`auth_pass=${options.account.password}`);
  return `<sip:${user}@${domain}${uriParams}>;${params.join(';')}`;
}

function configText(options: BaresipOptions, dir: string, sipPort: number, ctrlPort: number, srate: number): string {
  const codecs = options.codecs ?? ['PCMU', 'PCMA'];
  const lines = [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    // Without it the SDP c= line and Contact carry the host's own address, not loopback.
    'net_interface 127.0.0.1',
    'call_local_timeout 120',
    'call_max_calls 4',
    'audio_buffer 20-160',
    `audio_source aufile,${join(dir, 'microphone.wav')}`,
    `ausrc_srate ${srate}`,
    'ausrc_channels 1',
    'rtp_ports 10000-60000',
    'jitter_buffer_delay 0-10',
    'rtcp_mux no',
    ...(options.rtpTimeoutSec ? [`rtp_timeout ${options.rtpTimeoutSec}`] : []),
    `module_path ${BARESIP_MODULE_PATH}`,
    // No audio player module: received audio is decoded (and recorded) but played nowhere.
    ...(codecs.some((c) => c === 'PCMU' || c === 'PCMA') ? ['module g711.so'] : []),
    ...(codecs.includes('G722') ? ['module g722.so'] : []),
    'module aufile.so',
    ...(options.record ? ['module sndfile.so', `snd_path ${join(dir, 'recordings')}`] : []),
    'module_app menu.so',
    // The menu's call-status line, redrawn with \r many times a second, would drown the log.
    'statmode_default off',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    ...(options.extraConfig ?? []),
  ];
  return `${lines.join('\n')}\n`;
}
