/**
 * Garbage at a live call. While a caller talks to a flow bot, 100,000 malformed SIP datagrams made from
 * that very call's INVITE, ACK, re-INVITE, BYE and INFO (its Call-ID and tags, so they get as far as the
 * parser lets them) plus random bytes hit the SIP port over UDP, with 2,500 well-formed but wrong
 * in-dialog requests (wrong tag, stale CSeq, broken SDP, unreadable DTMF, REFER, MESSAGE, ACKs with
 * garbage...) that do reach the user agent, the dialog and the call; 50,000 malformed RTP packets (bad
 * versions, truncated headers, CSRC/extension/padding overruns, wrong payload types, telephone-events of
 * strange streams or too short, the caller's stream jumping far in sequence, lying RTCP, random bytes)
 * hit the call's RTP port, from the caller's RTP socket and a stranger's.
 *
 * Afterwards the call must be as before: the key the caller presses changes the bot's path, the caller
 * hears the answer, the bot's BYE ends the call and the record says bot-hangup with exactly that digit
 * and those two prompts. Meanwhile: no uncaught exception (process hooks), OPTIONS pings keep being
 * answered (no stall; they also pace the sender), every malformed request answered 400 or dropped -
 * each message is classified beforehand with Voxgate's own parser and RFC 3261 18.2.2, and the 400s
 * received must match, less what the kernel reports dropping - every wrong request answered as RFC 3261
 * says, and fewer than 100 warning lines (the logs are rate-limited).
 *
 * The caller is a UDP SIP phone of our own (test/support/sip-udp-phone.ts), not baresip: the mutations
 * need the call's exact bytes, tags, CSeqs and RTP SSRC. VOXGATE_FUZZ_SEED replays a run (the seed is
 * printed; ports differ between runs), VOXGATE_FUZZ_SIP / VOXGATE_FUZZ_RTP change the counts.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, LOG_WARN } from '../support/captured-logger.js';
import { GREETING, SALES, SUPPORT, spokenMs } from '../support/e2e-fixtures.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../support/e2e-sip.js';
import { fuzzRtp, fuzzSip, rawResponseKey, seededRandom, type Rand } from '../support/sip-fuzz.js';
import { SipUdpPhone } from '../support/sip-udp-phone.js';
import type { SipMessage, SipResponse } from '../../src/carriers/sip/message/sip-message.js';
import { parseSipMessage } from '../../src/carriers/sip/message/parser.js';

const SEED = Number(process.env.VOXGATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SIP_COUNT = Number(process.env.VOXGATE_FUZZ_SIP ?? 100_000);
const RTP_COUNT = Number(process.env.VOXGATE_FUZZ_RTP ?? 50_000);
/** One well-formed but wrong in-dialog request per this many malformed ones (sent in addition to them). */
const SEMANTIC_EVERY = 40;
/** An OPTIONS ping per this many SIP datagrams; no more than MAX_PINGS_OUT unanswered (the gateway keeps up, or we wait). */
const PING_EVERY = 400;
/** How the transport answers a request its parser rejects: 400, 505 (another SIP version), 513 (too large). */
const PARSE_REJECTIONS = new Set([400, 505, 513]);
const MAX_PINGS_OUT = 2;
const SIP_PER_TURN = 16;

/** The menu, with a key timeout longer than the fuzzing. */
const fuzzFlow = {
  name: 'fuzz-menu',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 180_000, branches: { '1': 'sales', '2': 'support' }, noMatch: 'bye', timeout: 'bye' } },
    sales: { say: SALES, hangup: 'completed' },
    support: { say: SUPPORT, hangup: 'completed' },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

function branchOf(message: SipMessage): string {
  return /branch=([^;,\s]+)/i.exec(message.headers.get('via') ?? '')?.[1] ?? '';
}

/** Datagrams the kernel dropped on the UDP socket bound to 127.0.0.1:`port` (a full receive buffer), from /proc/net/udp; 0 where it cannot tell. */
function udpDrops(port: number): number {
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length > 12 && parseInt(columns[1].split(':')[1], 16) === port) return Number(columns[columns.length - 1]);
    }
  } catch {
    // not Linux
  }
  return 0;
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`seed ${SEED}: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function bindUdp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

interface Semantic {
  name: string;
  raw: Buffer;
  /** Final statuses RFC 3261 and Voxgate's dialog allow; empty for an ACK (never answered). */
  expect: number[];
}

/** Well-formed requests that are wrong for this dialog: they pass the parser and reach the user agent, the dialog or the call. */
function semanticRequest(r: Rand, phone: SipUdpPhone, n: number, cseq: () => number): Semantic {
  const call = phone.call!;
  const branch = `z9hG4bKsem-${n}`;
  const base = { from: call.from, to: call.to, callId: call.callId, branch };
  const uri = call.remoteTarget;
  const garbageSdp = 'v=0\r\no=- x y IN IP4\r\nm=audio port RTP/AVP\r\nc=IN IP9 ::::\r\n';
  const cases: (() => Semantic)[] = [
    () => ({ name: 'BYE with a wrong To tag', raw: phone.request('BYE', uri, { ...base, to: call.to.replace(/tag=[^;]+/, 'tag=not-ours'), cseq: cseq() }).raw, expect: [481] }),
    () => ({ name: 'BYE with a stale CSeq', raw: phone.request('BYE', uri, { ...base, cseq: 1 + Math.floor(r() * 998) }).raw, expect: [500] }),
    () => ({ name: 'INFO with unreadable DTMF', raw: phone.request('INFO', uri, { ...base, cseq: cseq(), body: 'Signal=Z\r\nDuration=x\r\n', contentType: 'application/dtmf-relay' }).raw, expect: [200] }),
    () => ({ name: 'INFO with another body', raw: phone.request('INFO', uri, { ...base, cseq: cseq(), body: '{"x":', contentType: 'application/json' }).raw, expect: [200] }),
    () => ({ name: 'INFO for another dialog', raw: phone.request('INFO', uri, { ...base, from: call.from.replace(/tag=[^;]+/, 'tag=stranger'), cseq: cseq(), body: 'Signal=1\r\n', contentType: 'application/dtmf-relay' }).raw, expect: [481] }),
    () => ({ name: 're-INVITE with a broken SDP', raw: phone.request('INVITE', uri, { ...base, cseq: cseq(), body: garbageSdp }).raw, expect: [400, 488] }),
    () => ({ name: 'UPDATE with a broken SDP', raw: phone.request('UPDATE', uri, { ...base, cseq: cseq(), body: garbageSdp }).raw, expect: [400, 488] }),
    () => ({ name: 'OPTIONS in the dialog', raw: phone.request('OPTIONS', uri, { ...base, cseq: cseq() }).raw, expect: [200] }),
    () => ({ name: 'MESSAGE in the dialog', raw: phone.request('MESSAGE', uri, { ...base, cseq: cseq(), body: 'hi', contentType: 'text/plain' }).raw, expect: [405] }),
    () => ({ name: 'REFER from the caller', raw: phone.request('REFER', uri, { ...base, cseq: cseq(), extra: ['Refer-To: <sip:elsewhere@127.0.0.1>'] }).raw, expect: [603] }),
    () => ({ name: 'NOTIFY nobody asked for', raw: phone.request('NOTIFY', uri, { ...base, cseq: cseq(), extra: ['Event: refer', 'Subscription-State: active'], body: 'SIP/2.0 200 OK\r\n', contentType: 'message/sipfrag' }).raw, expect: [200] }),
    () => ({ name: 'CANCEL of the answered INVITE', raw: phone.request('CANCEL', uri, { ...base, cseq: 1000 }).raw, expect: [200] }),
    () => ({ name: 'ACK with a garbage body', raw: phone.request('ACK', uri, { ...base, cseq: 1001, body: garbageSdp }).raw, expect: [] }),
    () => ({ name: 'ACK for another dialog', raw: phone.request('ACK', uri, { ...base, to: call.to.replace(/tag=[^;]+/, 'tag=not-ours'), cseq: 1001 }).raw, expect: [] }),
  ];
  return cases[Math.floor(r() * cases.length)]();
}

describe('SIP leg: fuzz during a live call', () => {
  let e2e: SipE2eSetup | undefined;
  let phone: SipUdpPhone | undefined;
  const sockets: dgram.Socket[] = [];
  afterEach(async () => {
    await phone?.close();
    for (const s of sockets.splice(0)) s.close();
    await e2e?.close();
    e2e = undefined;
    phone = undefined;
  });

  it(`survives ${SIP_COUNT} malformed SIP datagrams and ${RTP_COUNT} malformed RTP packets: the key still changes the path, the caller hears the answer, the call ends normally`, async () => {
    console.log(`SIP fuzz seed ${SEED} (replay: VOXGATE_FUZZ_SEED=${SEED})`);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      const { logger, lines } = captureLogger();
      e2e = await startSipE2e({ bots: [{ name: 'fuzz-bot', type: 'flow', flow: fuzzFlow }], routes: [{ number: SIP_NUMBER, bot: 'fuzz-bot' }] }, { transports: ['udp'] }, { logger });
      const gateway = e2e.gateway;
      const sipPort = e2e.sipPort;
      phone = await SipUdpPhone.start('fuzzer', seededRandom(SEED ^ 0x5a5a5a5a));
      const stranger = await bindUdp();
      const pinger = await bindUdp();
      sockets.push(stranger, pinger);

      // --- the call: INVITE, 200, ACK; the greeting starts; a real re-INVITE (answered, ACKed)
      const ended = e2e.nextCallEnded();
      const call = await phone.dial(SIP_NUMBER, sipPort);
      await until('the greeting to be heard', () => phone!.audibleMsSince(0) >= 400, 10_000);
      expect(await phone.reInvite(sipPort)).toBe(200);
      const firstInviteCseq = call.cseq;
      const templates: Record<string, Buffer> = {
        INVITE: call.sent[0].raw,
        ACK: call.sent[1].raw,
        're-INVITE': call.sent[2].raw,
        're-INVITE ACK': call.sent[3].raw,
        BYE: phone.inDialog('BYE').raw,
        'BYE without rport': phone.inDialog('BYE', { rport: false }).raw,
        INFO: phone.inDialog('INFO', { body: 'Signal=1\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' }).raw,
        'INFO without rport': phone.inDialog('INFO', { body: 'Signal=1\r\nDuration=160\r\n', contentType: 'application/dtmf-relay', rport: false }).raw,
      };

      // --- what comes back
      const fuzzStatuses = new Map<number, number>();
      const oddResponses: string[] = [];
      let unparsableBack = 0;
      const semanticSent = new Map<string, Semantic>();
      const semanticFinal = new Map<string, number>();
      /** Per request key (what a 400 copies): 400s expected minus 400s received, and the recipes that made them. */
      const owed400 = new Map<string, { owed: number; recipes: string[] }>();
      const owe = (key: string, delta: number, recipe?: string) => {
        const entry = owed400.get(key) ?? { owed: 0, recipes: [] };
        entry.owed += delta;
        if (recipe && entry.recipes.length < 3) entry.recipes.push(recipe);
        owed400.set(key, entry);
      };
      phone.onSipDatagram((data: Buffer, message: SipMessage | undefined) => {
        if (/^SIP\/2\.0 (400|505|513) /.test(data.toString('latin1', 0, 16)) && !/branch=z9hG4bK(sem|ping)-/.test(data.toString('latin1'))) owe(rawResponseKey(data.toString('latin1')), -1);
        if (!message) {
          // A 400 copies the request's Via, From, To, Call-ID and CSeq, however odd (CSeq 4294967296, a folded Via list):
          // it may not pass a strict parser itself. Its status line says what it is.
          const status = /^SIP\/2\.0 (\d{3}) /.exec(data.toString('latin1'))?.[1];
          if (status) fuzzStatuses.set(Number(status), (fuzzStatuses.get(Number(status)) ?? 0) + 1);
          else {
            if (unparsableBack < 5) oddResponses.push(`unparsable: ${JSON.stringify(data.toString('latin1').slice(0, 600))}`);
            unparsableBack++;
          }
          return;
        }
        if (message.kind !== 'response') return;
        const branch = branchOf(message);
        const semantic = semanticSent.get(branch);
        if (semantic) {
          if (message.status >= 200 && !semanticFinal.has(branch)) semanticFinal.set(branch, message.status);
          if (message.status >= 300 && /INVITE$/.test(message.headers.get('cseq') ?? '')) phone!.send(phone!.ackForFailure(semantic.raw, message), sipPort);
          return;
        }
        fuzzStatuses.set(message.status, (fuzzStatuses.get(message.status) ?? 0) + 1);
        if (!PARSE_REJECTIONS.has(message.status) && oddResponses.length < 10) oddResponses.push(data.toString('latin1').slice(0, 300));
      });
      const pingSentAt = new Map<string, number>();
      let pingMaxMs = 0;
      pinger.on('message', (data) => {
        const response = parseSipMessage(data, { datagram: true }) as SipResponse;
        const branch = branchOf(response);
        const at = pingSentAt.get(branch);
        if (at === undefined) return;
        pingMaxMs = Math.max(pingMaxMs, Date.now() - at);
        pingSentAt.delete(branch);
      });
      let pings = 0;
      const ping = () => {
        const n = ++pings;
        const branch = `z9hG4bKping-${n}`;
        const text = [
          `OPTIONS sip:voxgate@127.0.0.1:${sipPort} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${pinger.address().port};rport;branch=${branch}`,
          'Max-Forwards: 70',
          `From: <sip:pinger@127.0.0.1>;tag=ping${n}`,
          'To: <sip:voxgate@127.0.0.1>',
          `Call-ID: ping-${n}@127.0.0.1`,
          `CSeq: ${n} OPTIONS`,
          'Content-Length: 0',
        ].join('\r\n');
        pingSentAt.set(branch, Date.now());
        pinger.send(`${text}\r\n\r\n`, sipPort, '127.0.0.1');
      };

      // --- the fuzz
      const r = seededRandom(SEED);
      let expected400 = 0;
      let expectedUnsendable = 0;
      let expectedDropped = 0;
      const recipes = new Map<string, number>();
      const rtpKinds = new Map<string, number>();
      let nextCseq = firstInviteCseq + 1;
      let semanticCount = 0;
      const dropsBefore = udpDrops(sipPort) + udpDrops(phone.sipPort);
      const rtpDropsBefore = udpDrops(call.remoteRtp.port);
      const fuzzStartedAt = Date.now();
      let generateMs = 0;
      let sipSent = 0;
      let rtpSent = 0;
      const rtpPerTurn = Math.max(1, Math.ceil((RTP_COUNT / Math.max(1, SIP_COUNT)) * SIP_PER_TURN));
      while (sipSent < SIP_COUNT || rtpSent < RTP_COUNT) {
        for (let i = 0; i < SIP_PER_TURN && sipSent < SIP_COUNT; i++, sipSent++) {
          if (sipSent % SEMANTIC_EVERY === SEMANTIC_EVERY - 1) {
            // In addition to the malformed ones: a well-formed request that is wrong for this dialog.
            const semantic = semanticRequest(r, phone, ++semanticCount, () => nextCseq++);
            semanticSent.set(`z9hG4bKsem-${semanticCount}`, semantic);
            phone.send(semantic.raw, sipPort);
          }
          if (sipSent % PING_EVERY === 0) {
            ping();
            if (pingSentAt.size > MAX_PINGS_OUT) await until('the gateway to answer an OPTIONS ping during the fuzz', () => pingSentAt.size <= MAX_PINGS_OUT, 10_000);
          }
          const genStart = performance.now();
          const fuzzed = fuzzSip(r, templates, phone.sipPort);
          generateMs += performance.now() - genStart;
          const kind = fuzzed.recipe.split(':')[0];
          recipes.set(kind, (recipes.get(kind) ?? 0) + 1);
          if (fuzzed.verdict.kind === '400') {
            if (fuzzed.verdict.port === phone.sipPort) {
              expected400++;
              owe(fuzzed.verdict.key, 1, fuzzed.recipe);
            }
            else expectedUnsendable++;
          } else expectedDropped++;
          phone.send(fuzzed.data, sipPort);
        }
        const stream = phone.rtpState;
        for (let i = 0; i < rtpPerTurn && rtpSent < RTP_COUNT; i++, rtpSent++) {
          const packet = fuzzRtp(r, stream);
          rtpKinds.set(packet.kind, (rtpKinds.get(packet.kind) ?? 0) + 1);
          (packet.fromPhone ? phone.rtp : stranger).send(packet.data, call.remoteRtp.port, call.remoteRtp.address);
        }
        await yieldToLoop();
      }
      ping();
      await until('the last OPTIONS ping to be answered', () => pingSentAt.size === 0, 10_000);
      // The 400s to the last datagrams are on their way: wait until they stop coming.
      let seen = -1;
      for (let i = 0; i < 50; i++) {
        const total = [...fuzzStatuses.values()].reduce((a, b) => a + b, 0);
        if (total === seen) break;
        seen = total;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const fuzzMs = Date.now() - fuzzStartedAt;
      const sipDrops = udpDrops(sipPort) + udpDrops(phone.sipPort) - dropsBefore;
      const rtpDrops = udpDrops(call.remoteRtp.port) - rtpDropsBefore;
      // The parser's status for what it rejects: 400, or 505 for another SIP version and 513 for an oversized message.
      const received400 = [...PARSE_REJECTIONS].reduce((n, status) => n + (fuzzStatuses.get(status) ?? 0), 0);
      const warnings = lines.filter((l) => l.level >= LOG_WARN);
      const figures = {
        seed: SEED,
        malformedSipSent: sipSent,
        wrongInDialogSent: semanticCount,
        rtpSent,
        expected400,
        received400,
        expectedDropped,
        expectedUnsendable400: expectedUnsendable,
        otherStatuses: Object.fromEntries([...fuzzStatuses].filter(([s]) => !PARSE_REJECTIONS.has(s))),
        unparsableBack,
        kernelDropsSip: sipDrops,
        kernelDropsRtp: rtpDrops,
        warningLines: warnings.length,
        logLines: lines.length,
        fuzzMs,
        generateMs: Math.round(generateMs),
        pingMaxMs,
        sipRecipes: Object.fromEntries(recipes),
        rtpKinds: Object.fromEntries(rtpKinds),
      };
      console.log(`SIP fuzz figures: ${JSON.stringify(figures)}`);
      const unpaired = [...owed400].filter(([, v]) => v.owed !== 0).slice(0, 5).map(([key, v]) => ({ key: key.slice(0, 300), ...v }));
      const context = `seed ${SEED}; figures ${JSON.stringify(figures)}; 400s not paired with their request: ${JSON.stringify(unpaired)}; warnings: ${JSON.stringify(countBy(warnings.map((w) => w.msg.slice(0, 120))))}; odd responses: ${JSON.stringify(oddResponses)}; uncaught: ${uncaught.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n')}`;

      // No crash, no stall.
      expect(uncaught, context).toEqual([]);
      expect(pingMaxMs, context).toBeLessThan(5000);
      // Every malformed request was answered 400 or dropped; every 400 that could be sent arrived.
      expect([...fuzzStatuses.keys()].filter((s) => !PARSE_REJECTIONS.has(s)), context).toEqual([]);
      expect(unparsableBack, context).toBe(0);
      // (A datagram the kernel dropped for a full receive buffer, ours or the gateway's, is a 400 that cannot come.)
      expect(received400, context).toBeLessThanOrEqual(expected400);
      expect(received400, context).toBeGreaterThanOrEqual(expected400 - sipDrops);
      // Every wrong in-dialog request got the answer RFC 3261 gives it.
      const wrongAnswers = [...semanticSent]
        .filter(([branch, s]) => (s.expect.length === 0 ? semanticFinal.has(branch) : !s.expect.includes(semanticFinal.get(branch) ?? 0)))
        .map(([branch, s]) => `${s.name}: ${semanticFinal.get(branch) ?? 'no answer'}`);
      expect(wrongAnswers.slice(0, 10), context).toEqual([]);
      // Logs are rate-limited.
      expect(warnings.length, context).toBeLessThan(100);

      // --- the call goes on: still one live call, the key changes the path, the caller hears the answer, the bot's BYE ends it
      expect(gateway.calls.list().map((c) => c.info.carrierCallId), context).toEqual([call.callId]);
      const pressedAt = Date.now();
      phone.pressKey('2');
      await phone.byeReceived(30_000);
      const heardMs = phone.audibleMsSince(pressedAt);
      expect(heardMs, context).toBeGreaterThan((await spokenMs(SUPPORT)) * 0.6);
      expect(await ended).toMatchObject({ reason: 'bot-hangup', side: 'gateway' });
      await gateway.records.flush();
      const record = await gateway.store.calls.getByCarrierCallId(call.callId, 'sip');
      expect(record, context).toMatchObject({ carrier: 'sip', direction: 'inbound', from: 'fuzzer', to: SIP_NUMBER, bot: 'fuzz-bot', hangupSide: 'gateway', endReason: 'bot-hangup' });
      expect((await gateway.store.dtmf.listForCall(record!.id)).map((d) => d.digit), context).toEqual(['2']);
      expect((await gateway.store.prompts.listForCall(record!.id)).map((p) => p.text), context).toEqual([GREETING, SUPPORT]);
      expect(uncaught, context).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  }, 120_000);
});
