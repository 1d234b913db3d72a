import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { configuredCarrierNames } from '../../src/carriers/index.js';

describe('the carriers section', () => {
  it('left out, runs Plivo (what the simulator and the demo speak) and WebRTC (the console softphone) with their defaults', () => {
    const cfg = parseConfig({});
    expect(configuredCarrierNames(cfg.carriers)).toEqual(['plivo', 'webrtc']);
    expect(cfg.carriers.webrtc).toEqual({ iceServers: [], codecs: ['opus', 'PCMU', 'PCMA'], maxCalls: 100, sampleRate: 16000, connectTimeoutSec: 15 });
    expect(cfg.carriers.plivo).toEqual({ authId: 'MAVOXGATEDEMO', apiBaseUrl: 'https://api.plivo.com', contentType: 'audio/x-mulaw;rate=8000', replayWindowSec: 300, streamExtraHeaders: {} });
  });

  it('given, enables exactly the carriers it names, each from its own variables too', () => {
    const cfg = parseConfig({ carriers: { twilio: { accountSid: 'AC1' } } }, { TWILIO_AUTH_TOKEN: 'tw-token', TWILIO_API_BASE_URL: 'http://127.0.0.1:9/' });
    expect(configuredCarrierNames(cfg.carriers)).toEqual(['twilio']);
    expect(cfg.carriers.twilio).toEqual({ accountSid: 'AC1', authToken: 'tw-token', apiBaseUrl: 'http://127.0.0.1:9/' });
    const both = parseConfig({}, { PLIVO_AUTH_TOKEN: 'p', TWILIO_ACCOUNT_SID: 'AC2' });
    expect(configuredCarrierNames(both.carriers)).toEqual(['plivo', 'twilio']);
  });

  it('refuses an empty section, unknown carriers and fields, naming the key', () => {
    expect(() => parseConfig({ carriers: {} })).toThrow(/carriers: configure at least one carrier \(plivo, twilio, sip, webrtc\)/);
    expect(() => parseConfig({ carriers: { vonage: {} } })).toThrow(/carriers: Unrecognized key\(s\) in object: 'vonage'/);
    expect(() => parseConfig({ carriers: { twilio: { token: 'x' } } })).toThrow(/carriers\.twilio: Unrecognized key\(s\) in object: 'token'/);
    expect(() => parseConfig({ carriers: { twilio: { apiBaseUrl: 'not a url' } } })).toThrow(ConfigError);
  });

  it('a route may name the carrier its number belongs to, which must be configured', () => {
    const bots = [{ name: 'sales', type: 'flow' }];
    const ok = parseConfig({ carriers: { plivo: {}, twilio: {} }, bots, routes: [{ number: '+14155550100', bot: 'sales', carrier: 'twilio' }, { number: '*', bot: 'sales' }] });
    expect(ok.routes[0]).toEqual({ number: '+14155550100', bot: 'sales', carrier: 'twilio' });
    expect(() => parseConfig({ bots, routes: [{ number: '+14155550100', bot: 'sales', carrier: 'twilio' }] })).toThrow(/routes\.0\.carrier: carrier "twilio" is not configured \(configured: plivo, webrtc\)/);
  });

  it('sip: defaults that take calls from this machine only, the port from VOXGATE_SIP_PORT, and bad trunks refused by key', () => {
    const cfg = parseConfig({ carriers: { sip: {} } }, { VOXGATE_SIP_PORT: '5070' });
    expect(cfg.carriers.sip).toMatchObject({ address: '0.0.0.0', port: 5070, transports: ['udp', 'tcp'], codecs: ['G722', 'PCMU', 'PCMA'], trunks: [{ name: 'local', inbound: { from: ['127.0.0.0/8', '::1/128'] } }] });
    expect(() => parseConfig({ carriers: { sip: { trunks: [{ name: 'a', inbound: { from: ['10.0.0.0/33'] } }] } } })).toThrow(/carriers\.sip\.trunks\.0\.inbound\.from\.0: expected an IP address or CIDR/);
    expect(() => parseConfig({ carriers: { sip: { trunks: [{ name: 'a', inbound: {} }] } } })).toThrow(/carriers\.sip\.trunks\.0\.inbound: give `from` addresses, `auth` credentials, or both/);
    expect(() => parseConfig({ carriers: { sip: { trunks: [{ name: 'a', outbound: { proxy: 'sbc.example.com' } }] } } })).toThrow(/carriers\.sip\.trunks\.0\.outbound\.proxy: expected a SIP URI/);
    expect(() => parseConfig({ carriers: { sip: { rtp: { minPort: 20000, maxPort: 10000 } } } })).toThrow(/carriers\.sip\.rtp: minPort must be below maxPort/);
  });
});
