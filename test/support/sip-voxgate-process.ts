/**
 * One Voxgate as a process of its own (node --import tsx), for tests of several Voxgates behind a SIP
 * front such as Kamailio: the gateway of startSipE2e on 127.0.0.1 (UDP, a free port), with a flow bot on
 * SIP_NUMBER that says one sentence and hangs up. It reports on stdout, one JSON object per line:
 *   {"event":"ready","sipPort":5071,"pid":123,"dataDir":"/tmp/vg-e2e-sip-..."}
 *   {"event":"invite","sipCallId":"..."}            a new INVITE reached its SIP port (answered or not)
 *   {"event":"options"}                             an OPTIONS outside any dialog (a health probe)
 *   {"event":"call.started","sipCallId":"..."}      and "call.ended" with reason and side
 *   {"event":"draining","draining":true}            after a drain/undrain command
 * and takes commands on stdin, one per line: drain, undrain, exit.
 * Run by test/support/sip-voxgate-processes.ts.
 */
import { createInterface } from 'node:readline';
import { SIP_NUMBER, startSipE2e } from './e2e-sip.js';

const GREETING = 'Hello from Voxgate.';

function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const e2e = await startSipE2e(
  {
    bots: [{ name: 'front-bot', type: 'flow', flow: { name: 'front', language: 'en-US', start: 'hello', steps: { hello: { say: GREETING, hangup: 'completed' } } } }],
    routes: [{ number: SIP_NUMBER, bot: 'front-bot' }],
  },
  { transports: ['udp'] },
);

e2e.sip.transport.on('message', (message) => {
  if (message.kind !== 'request' || /;\s*tag=/i.test(message.headers.get('to') ?? '')) return;
  if (message.method === 'INVITE') report({ event: 'invite', sipCallId: message.headers.get('call-id') });
  if (message.method === 'OPTIONS') report({ event: 'options' });
});
e2e.gateway.bus.subscribe('call.started', (e) => report({ event: 'call.started', sipCallId: e.carrierCallId, callId: e.callId }));
e2e.gateway.bus.subscribe('call.ended', (e) => report({ event: 'call.ended', callId: e.callId, reason: e.reason, side: e.side }));

let closing = false;
async function exit(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  await e2e.close().catch(() => undefined);
  process.exit(code);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command === 'drain' || command === 'undrain') {
    e2e.sip.ua.setDraining(command === 'drain');
    report({ event: 'draining', draining: command === 'drain' });
  } else if (command === 'exit') {
    void exit(0);
  }
});
// The test runner going away closes stdin: do not outlive it.
process.stdin.on('end', () => void exit(0));
process.on('SIGTERM', () => void exit(0));

report({ event: 'ready', sipPort: e2e.sipPort, pid: process.pid, dataDir: e2e.dataDir });
