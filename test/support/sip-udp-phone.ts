/**
 * A minimal SIP phone over UDP on 127.0.0.1, written for tests that need to know every byte of a call:
 * the fuzz test mutates this very call's INVITE, ACK, BYE, INFO and re-INVITE and must know its Call-ID,
 * tags, CSeq and RTP SSRC. It places one call (INVITE with a PCMU + telephone-event offer, ACK to the
 * 200), sends 20 ms PCMU packets of silence from the moment it is answered, records what it hears (RMS
 * per 20 ms packet, decoded), presses keys as RFC 4733 events, re-INVITEs, and answers the gateway's
 * BYE (and any other request) with 200. Direct calls only: no route set, no digest, no retransmissions
 * (loopback does not lose datagrams). For a phone that follows proxies and Record-Route, use baresip.
 *
 * Every SIP datagram it receives goes to `onSip` listeners too, parsed or not, so a test can count the
 * responses its own garbage earned.
 */
import dgram from 'node:dgram';
import { decodeMuLaw, MULAW_SILENCE } from '../../src/media/g711.js';
import { parseSipMessage } from '../../src/carriers/sip/message/parser.js';
import type { SipMessage, SipResponse } from '../../src/carriers/sip/message/sip-message.js';
import { parseNameAddr } from '../../src/carriers/sip/message/headers.js';
import { buildResponse } from '../../src/carriers/sip/message/responses.js';
import { serializeSipMessage } from '../../src/carriers/sip/message/serializer.js';
import { createRtpHeader, parseRtpHeader, writeRtpHeader } from '../../src/carriers/sip/rtp/rtp-packet.js';

export const TELEPHONE_EVENT_PT = 101;
const DTMF_EVENTS = '0123456789*#ABCD';

/** One 20 ms packet heard: when it arrived and how loud it was (RMS of the decoded PCMU). */
export interface HeardPacket {
  at: number;
  rms: number;
}

export interface PhoneCall {
  callId: string;
  fromTag: string;
  toTag: string;
  /** The From and To header values as sent in the ACK (with tags). */
  from: string;
  to: string;
  /** Where Voxgate's RTP is, from the SDP answer. */
  remoteRtp: { address: string; port: number };
  /** The Request-URI of in-dialog requests: Voxgate's Contact. */
  remoteTarget: string;
  /** Our last CSeq number in this dialog. */
  cseq: number;
  /** The raw bytes of every request we sent for this call, in order, by method (INVITE, ACK, re-INVITE...). */
  sent: { method: string; raw: Buffer }[];
  answerSdp: string;
}

function bind(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function headerOf(message: SipMessage, name: string): string {
  return message.headers.get(name) ?? '';
}

function tagOf(value: string): string {
  try {
    return parseNameAddr(value).params.get('tag') ?? '';
  } catch {
    return '';
  }
}

export class SipUdpPhone {
  readonly user: string;
  /** Our RTP SSRC (the fuzz test forges packets of this stream). */
  readonly ssrc: number;
  readonly heard: HeardPacket[] = [];
  /** Requests Voxgate sent us (BYE...), in order. */
  readonly requestsReceived: string[] = [];
  call?: PhoneCall;

  private readonly pending = new Map<string, (response: SipResponse) => void>();
  private readonly listeners = new Set<(data: Buffer, message: SipMessage | undefined) => void>();
  private byeWaiters: (() => void)[] = [];
  private rtpTimer?: NodeJS.Timeout;
  private seq: number;
  private ts: number;
  private readonly random: () => number;
  private dtmfQueue: { event: number; sent: number }[] = [];
  private readonly packet = Buffer.alloc(12 + 160);
  private readonly decoded = new Int16Array(160);
  private closed = false;

  private constructor(
    readonly sip: dgram.Socket,
    readonly rtp: dgram.Socket,
    readonly rtcp: dgram.Socket,
    user: string,
    random: () => number,
  ) {
    this.user = user;
    this.random = random;
    this.ssrc = 1 + Math.floor(random() * 0xfffffffe);
    this.seq = Math.floor(random() * 65536);
    this.ts = Math.floor(random() * 2 ** 32);
    sip.on('message', (data) => this.onSip(data));
    rtp.on('message', (data) => this.onRtp(data));
    rtcp.on('message', () => undefined);
  }

  /** `random`: where tags, Call-ID, branches, SSRC and sequence numbers come from (a seeded PRNG makes a run replayable). */
  static async start(user = 'phone', random: () => number = Math.random): Promise<SipUdpPhone> {
    const [sip, rtp, rtcp] = await Promise.all([bind(), bind(), bind()]);
    return new SipUdpPhone(sip, rtp, rtcp, user, random);
  }

  private hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i++) out += Math.floor(this.random() * 256).toString(16).padStart(2, '0');
    return out;
  }

  get sipPort(): number {
    return this.sip.address().port;
  }

  get rtpPort(): number {
    return this.rtp.address().port;
  }

  /** Called with every SIP datagram that arrives (message undefined when it does not parse). */
  onSipDatagram(listener: (data: Buffer, message: SipMessage | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An SDP offer for our RTP port: PCMU and telephone-event 101. */
  offer(version = 1): string {
    const lines = [
      'v=0',
      `o=${this.user} 4242 ${version} IN IP4 127.0.0.1`,
      's=voxgate test phone',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.rtpPort} RTP/AVP 0 ${TELEPHONE_EVENT_PT}`,
      'a=rtpmap:0 PCMU/8000',
      `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`,
      `a=fmtp:${TELEPHONE_EVENT_PT} 0-15`,
      `a=rtcp:${this.rtcp.address().port}`,
      'a=ptime:20',
      'a=sendrecv',
    ];
    return `${lines.join('\r\n')}\r\n`;
  }

  /**
   * Calls `number` at Voxgate's UDP port and waits for the 200 (ACKed at once); media starts then.
   * Rejects with the final status when the call is refused.
   */
  async dial(number: string, port: number, timeoutMs = 10_000): Promise<PhoneCall> {
    const callId = `${this.hex(8)}@127.0.0.1`;
    const fromTag = this.hex(4);
    const from = `"Test Phone" <sip:${this.user}@127.0.0.1:${this.sipPort}>;tag=${fromTag}`;
    const toNoTag = `<sip:${number}@127.0.0.1:${port}>`;
    const uri = `sip:${number}@127.0.0.1:${port}`;
    const cseq = 1000;
    const sdp = this.offer();
    const invite = this.request('INVITE', uri, { from, to: toNoTag, callId, cseq, body: sdp, extra: ['Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO', 'Supported: replaces', 'User-Agent: voxgate-test-phone'] });
    const response = await this.transaction(invite.raw, invite.branch, port, timeoutMs, (r) => r.status >= 200);
    if (response.status >= 300) {
      this.send(this.ackForFailure(invite.raw, response), port);
      throw new Error(`${this.user}: call to ${number} refused: ${response.status} ${response.reason}`);
    }
    const to = headerOf(response, 'to');
    const contact = headerOf(response, 'contact');
    const answerSdp = response.body.toString('utf8');
    const call: PhoneCall = {
      callId,
      fromTag,
      toTag: tagOf(to),
      from,
      to,
      remoteRtp: mediaOf(answerSdp),
      remoteTarget: contact ? parseNameAddr(contact).uri : uri,
      cseq,
      sent: [{ method: 'INVITE', raw: invite.raw }],
      answerSdp,
    };
    this.call = call;
    const ack = this.request('ACK', call.remoteTarget, { from, to, callId, cseq });
    call.sent.push({ method: 'ACK', raw: ack.raw });
    this.send(ack.raw, port);
    this.startMedia();
    return call;
  }

  /** A re-INVITE with our (unchanged) offer, its 200 ACKed. Returns the 200's status. */
  async reInvite(port: number, timeoutMs = 5000): Promise<number> {
    const call = this.mustCall();
    const cseq = ++call.cseq;
    const invite = this.request('INVITE', call.remoteTarget, { from: call.from, to: call.to, callId: call.callId, cseq, body: this.offer(2) });
    call.sent.push({ method: 'INVITE', raw: invite.raw });
    const response = await this.transaction(invite.raw, invite.branch, port, timeoutMs, (r) => r.status >= 200);
    if (response.status < 300) {
      const ack = this.request('ACK', call.remoteTarget, { from: call.from, to: call.to, callId: call.callId, cseq });
      call.sent.push({ method: 'ACK', raw: ack.raw });
      this.send(ack.raw, port);
    } else {
      this.send(this.ackForFailure(invite.raw, response), port);
    }
    return response.status;
  }

  /**
   * Builds a request of this call (not sent): the templates the fuzz test mutates. `cseq` defaults to
   * the next number; the number is not consumed.
   */
  inDialog(method: string, options: { cseq?: number; body?: string; contentType?: string; extra?: string[]; rport?: boolean } = {}): { raw: Buffer; branch: string } {
    const call = this.mustCall();
    return this.request(method, call.remoteTarget, {
      from: call.from,
      to: call.to,
      callId: call.callId,
      cseq: options.cseq ?? call.cseq + 1,
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.contentType ? { contentType: options.contentType } : {}),
      extra: options.extra ?? [],
      rport: options.rport ?? true,
    });
  }

  /** A request as raw text; `branch` is random unless given. */
  request(
    method: string,
    uri: string,
    h: { from: string; to: string; callId: string; cseq: number; body?: string; contentType?: string; extra?: string[]; branch?: string; rport?: boolean; cseqMethod?: string },
  ): { raw: Buffer; branch: string } {
    const branch = h.branch ?? `z9hG4bK${this.hex(8)}`;
    const body = h.body ?? '';
    const lines = [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort}${h.rport === false ? '' : ';rport'};branch=${branch}`,
      'Max-Forwards: 70',
      `From: ${h.from}`,
      `To: ${h.to}`,
      `Call-ID: ${h.callId}`,
      `CSeq: ${h.cseq} ${h.cseqMethod ?? method}`,
      ...(method === 'ACK' || method === 'CANCEL' ? [] : [`Contact: <sip:${this.user}@127.0.0.1:${this.sipPort}>`]),
      ...(h.extra ?? []),
      ...(body ? [`Content-Type: ${h.contentType ?? 'application/sdp'}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
    ];
    return { raw: Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`), branch };
  }

  /** The ACK to a non-2xx final response (same branch as the INVITE, To from the response). */
  ackForFailure(inviteRaw: Buffer, response: SipResponse): Buffer {
    const invite = parseSipMessage(inviteRaw, { datagram: true });
    if (invite.kind !== 'request') throw new Error('not a request');
    const cseq = headerOf(invite, 'cseq').split(/\s+/)[0];
    const lines = [
      `ACK ${invite.uri} SIP/2.0`,
      `Via: ${headerOf(invite, 'via')}`,
      'Max-Forwards: 70',
      `From: ${headerOf(invite, 'from')}`,
      `To: ${headerOf(response, 'to')}`,
      `Call-ID: ${headerOf(invite, 'call-id')}`,
      `CSeq: ${cseq} ACK`,
      'Content-Length: 0',
    ];
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  }

  send(data: Buffer, port: number, address = '127.0.0.1'): void {
    if (!this.closed) this.sip.send(data, port, address);
  }

  /** Sends a request and resolves with the first response `done` accepts (matched by branch). */
  transaction(raw: Buffer, branch: string, port: number, timeoutMs: number, done: (response: SipResponse) => boolean): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(branch);
        reject(new Error(`${this.user}: no final response to ${raw.toString('utf8').split('\r\n')[0]} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(branch, (response) => {
        if (!done(response)) return;
        clearTimeout(timer);
        this.pending.delete(branch);
        resolve(response);
      });
      this.send(raw, port);
    });
  }

  /** Stops sending RTP (a phone on mute that sends nothing; Voxgate then keeps sending where the SDP says, no latching). */
  pauseMedia(): void {
    if (this.rtpTimer) clearInterval(this.rtpTimer);
    this.rtpTimer = undefined;
  }

  /** Presses a key: RFC 4733 events (5 packets, then the end packet 3 times) in place of audio packets. */
  pressKey(digit: string): void {
    const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
    if (event < 0) throw new Error(`not a DTMF digit: ${digit}`);
    this.dtmfQueue.push({ event, sent: 0 });
  }

  /** Resolves when Voxgate's BYE has arrived (and been answered 200). */
  byeReceived(timeoutMs = 20_000): Promise<void> {
    if (this.requestsReceived.includes('BYE')) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.user}: no BYE within ${timeoutMs} ms`)), timeoutMs);
      this.byeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Milliseconds of audible audio (RMS above `threshold`) heard since `since` (epoch ms). */
  audibleMsSince(since: number, threshold = 300): number {
    return this.heard.filter((p) => p.at >= since && p.rms > threshold).length * 20;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.rtpTimer) clearInterval(this.rtpTimer);
    await Promise.all([this.sip, this.rtp, this.rtcp].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** The stream's next RTP header fields, for a test that forges packets of it. */
  get rtpState(): { seq: number; ts: number; ssrc: number } {
    return { seq: this.seq, ts: this.ts, ssrc: this.ssrc };
  }

  private mustCall(): PhoneCall {
    if (!this.call) throw new Error(`${this.user}: no call`);
    return this.call;
  }

  private startMedia(): void {
    const remote = this.mustCall().remoteRtp;
    this.rtpTimer = setInterval(() => this.sendPacket(remote), 20);
  }

  private sendPacket(remote: { address: string; port: number }): void {
    if (this.closed) return;
    const p = this.packet;
    const dtmf = this.dtmfQueue[0];
    if (dtmf) {
      // All packets of one event share its start timestamp; the end packet goes three times.
      const end = dtmf.sent >= 4;
      writeRtpHeader(p, { marker: dtmf.sent === 0, payloadType: TELEPHONE_EVENT_PT, sequence: this.seq, timestamp: this.ts, ssrc: this.ssrc });
      p[12] = dtmf.event;
      p[13] = (end ? 0x80 : 0) | 10;
      p.writeUInt16BE(Math.min(5, dtmf.sent + 1) * 160, 14);
      this.rtp.send(p.subarray(0, 16), remote.port, remote.address);
      this.seq = (this.seq + 1) & 0xffff;
      dtmf.sent++;
      if (dtmf.sent >= 7) {
        this.dtmfQueue.shift();
        this.ts = (this.ts + 7 * 160) >>> 0;
      }
      return;
    }
    writeRtpHeader(p, { marker: false, payloadType: 0, sequence: this.seq, timestamp: this.ts, ssrc: this.ssrc });
    p.fill(MULAW_SILENCE, 12);
    this.rtp.send(p, remote.port, remote.address);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 160) >>> 0;
  }

  private onRtp(data: Buffer): void {
    const h = createRtpHeader();
    if (!parseRtpHeader(data, h) || h.payloadType !== 0 || h.payloadLength !== 160) return;
    decodeMuLaw(data.subarray(h.payloadOffset, h.payloadOffset + 160), this.decoded);
    let sum = 0;
    for (const s of this.decoded) sum += s * s;
    this.heard.push({ at: Date.now(), rms: Math.sqrt(sum / 160) });
  }

  private onSip(data: Buffer): void {
    let message: SipMessage | undefined;
    try {
      message = parseSipMessage(data, { datagram: true });
    } catch {
      message = undefined;
    }
    for (const listener of this.listeners) listener(data, message);
    if (!message) return;
    if (message.kind === 'response') {
      const branch = /branch=([^;,\s]+)/.exec(headerOf(message, 'via'))?.[1];
      if (branch) this.pending.get(branch)?.(message);
      return;
    }
    if (message.method === 'ACK') return;
    this.requestsReceived.push(message.method);
    const via = /rport=(\d+)/.exec(headerOf(message, 'via'));
    const port = via ? Number(via[1]) : Number(/:(\d+)/.exec(headerOf(message, 'via'))?.[1] ?? 5060);
    this.send(serializeSipMessage(buildResponse(message, 200)), port);
    if (message.method === 'BYE') {
      if (this.rtpTimer) clearInterval(this.rtpTimer);
      for (const waiter of this.byeWaiters.splice(0)) waiter();
    }
  }
}

/** The audio address and port of an SDP answer. */
export function mediaOf(sdp: string): { address: string; port: number } {
  const address = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  const port = /^m=audio (\d+)/m.exec(sdp)?.[1];
  if (!address || !port) throw new Error(`no audio address in the SDP answer:\n${sdp}`);
  return { address, port: Number(port) };
}
