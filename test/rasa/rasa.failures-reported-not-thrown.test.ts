import { once } from 'node:events';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { RasaConnector, RasaError, type RasaConnectorOptions } from '../../src/bots/rasa/index.js';
import { messageActivity, type Activity } from '../../src/bots/activity.js';
import { RasaServer, type RasaServerOptions } from '../support/rasa-server.js';
import { FakeClock } from '../support/fake-clock.js';

const call = { conversationId: 'call-fail', direction: 'inbound' as const, caller: '+1', callee: '+2' };

let rasa: RasaServer | undefined;
const bots: RasaConnector[] = [];
afterEach(async () => {
  await Promise.all(bots.splice(0).map((b) => b.end('error')));
  await rasa?.close();
  rasa = undefined;
});

async function serve(options: RasaServerOptions = {}): Promise<RasaServer> {
  rasa = await new RasaServer(options).listen();
  return rasa;
}

function connect(url: string, extra: Partial<RasaConnectorOptions> = {}): RasaConnector {
  const bot = new RasaConnector({ name: 'moodbot', url, ...extra });
  bots.push(bot);
  return bot;
}

async function nextFailure(bot: RasaConnector): Promise<RasaError> {
  const [err] = (await once(bot, 'failure')) as [RasaError];
  return err;
}

function jwt(secret: string, user: Record<string, string>): Promise<string> {
  return new SignJWT({ user }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(secret));
}

describe('Rasa: authentication', () => {
  it('sends the token as the token query parameter, and Rasa accepts it', async () => {
    const server = await serve({ authToken: 'thisismysecret' });
    server.reply = () => [{ text: 'Hi' }];
    const bot = connect(server.url, { token: 'thisismysecret' });
    const greeted = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.start(call);
    expect((await greeted)[0].map((a) => a.text)).toEqual(['Hi']);
    expect((await server.message(0)).token).toBe('thisismysecret');
  });

  it('reports a rejected token as a 401 failure naming Rasa, its reason and the hint, without leaking the token', async () => {
    const server = await serve({ authToken: 'thisismysecret' });
    const bot = connect(server.url, { token: 'wrong-token' });
    const failure = nextFailure(bot);
    await expect(bot.start(call)).resolves.toBeUndefined();
    const err = await failure;
    expect(err).toBeInstanceOf(RasaError);
    expect(err).toMatchObject({ kind: 'http', status: 401, reason: 'NotAuthenticated' });
    expect(err.message).toMatch(/^Rasa bot "moodbot": POST http:\/\/127\.0\.0\.1:\d+\/webhooks\/rest\/webhook \(start\) answered 401 \(check the Rasa token \/ bearerToken\): NotAuthenticated: User is not authenticated\.$/);
    expect(err.message).not.toContain('wrong-token');
    expect(server.received).toEqual([]);
  });

  it('sends a JWT as Authorization: Bearer; an admin JWT is accepted, a user JWT for another sender gets 403', async () => {
    const server = await serve({ jwtSecret: 'jwt-secret' });
    const admin = connect(server.url, { bearerToken: await jwt('jwt-secret', { username: 'voxgate', role: 'admin' }) });
    await admin.start(call);
    expect((await server.message(0)).authorization).toMatch(/^Bearer ey/);

    const user = connect(server.url, { bearerToken: await jwt('jwt-secret', { username: 'someone-else', role: 'user' }) });
    const failure = nextFailure(user);
    await user.start(call);
    const err = await failure;
    expect(err).toMatchObject({ status: 403, reason: 'NotAuthorized' });
    expect(err.message).toContain('answered 403 (the bearer token lacks the permission for this conversation): NotAuthorized: User has insufficient permissions.');
  });

  it('reports a JWT signed with another secret as 401', async () => {
    const server = await serve({ jwtSecret: 'jwt-secret' });
    const bot = connect(server.url, { bearerToken: await jwt('not-the-secret', { username: 'voxgate', role: 'admin' }) });
    const failure = nextFailure(bot);
    await bot.start(call);
    expect(await failure).toMatchObject({ status: 401, reason: 'NotAuthenticated' });
  });
});

describe('Rasa: server-side errors', () => {
  it('reports a 404 as a REST channel that is not enabled in credentials.yml', async () => {
    const server = await serve({ channels: ['socketio'] });
    const bot = connect(server.url);
    const failure = nextFailure(bot);
    await bot.start(call);
    const err = await failure;
    expect(err.status).toBe(404);
    expect(err.message).toContain('answered 404 (is the REST channel enabled? Rasa serves /webhooks/rest/webhook only when credentials.yml lists the channel)');
  });

  it('reports a 500 on a caller turn with the status and body, and stays usable for the next turn', async () => {
    const server = await serve();
    server.reply = (m) => (m.message === 'boom' ? { status: 500, body: { version: '3.6.20', status: 'failure', message: 'An unexpected error occurred.', reason: 'ConversationError', code: 500 } } : [{ text: `ok ${m.message}` }]);
    const bot = connect(server.url);
    await bot.start(call);
    const failure = nextFailure(bot);
    await expect(bot.send(messageActivity('boom'))).resolves.toBeUndefined();
    expect((await failure).message).toMatch(/\(text\) answered 500: ConversationError: An unexpected error occurred\.$/);
    const answered = once(bot, 'activities') as Promise<[Activity[]]>;
    await bot.send(messageActivity('again'));
    expect((await answered)[0].map((a) => a.text)).toEqual(['ok again']);
  });

  it('reports a Rasa that does not answer within requestTimeoutMs (fake clock)', async () => {
    const server = await serve();
    server.reply = (m) => (m.message === 'slow' ? 'hold' : []);
    const clock = new FakeClock();
    const bot = connect(server.url, { requestTimeoutMs: 4000, clock });
    await bot.start(call);
    let failed = false;
    bot.on('failure', () => (failed = true));
    const failure = nextFailure(bot);
    const turn = bot.send(messageActivity('slow'));
    await server.message(1);
    clock.advance(3999);
    expect(failed).toBe(false);
    clock.advance(1);
    const err = await failure;
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(err.message).toMatch(/^Rasa bot "moodbot": POST .*\/webhooks\/rest\/webhook \(text\) got no answer within 4000 ms$/);
    await turn;
  });
});

describe('Rasa: malformed answers', () => {
  it('reports an answer that is a JSON object instead of the list of bot messages', async () => {
    const server = await serve();
    server.reply = () => ({ status: 200, body: { text: 'I am not a list' } });
    const bot = connect(server.url);
    const failure = nextFailure(bot);
    let emitted = 0;
    bot.on('activities', () => emitted++);
    await bot.start(call);
    const err = await failure;
    expect(err).toMatchObject({ kind: 'malformed' });
    expect(err.message).toContain("(start) answered with something that is not Rasa's list of bot messages: the answer must be a JSON array of bot messages; got object");
    expect(emitted).toBe(0);
  });

  it('reports a body that is not JSON (a proxy page), and a bot message whose text is not a string', async () => {
    const server = await serve();
    server.reply = (m) => (m.message === '/greet' ? { status: 200, body: '<html>502 Bad Gateway</html>' } : { status: 200, body: [{ recipient_id: 'call-fail', text: 42 }] });
    const bot = connect(server.url);
    let failure = nextFailure(bot);
    await bot.start(call);
    expect((await failure).message).toMatch(/\(start\) answered 200 with a body that is not JSON: "<html>502 Bad Gateway<\/html>"$/);
    failure = nextFailure(bot);
    await bot.send(messageActivity('hi'));
    expect((await failure).message).toContain('bot message [0] field "text" must be a string; got number');
  });
});

describe('Rasa: the server goes away mid-call', () => {
  it('reports connection refused on the next turn after a good start', async () => {
    const server = await serve();
    server.reply = () => [{ text: 'Hello' }];
    const bot = connect(server.url);
    const greeted = once(bot, 'activities');
    await bot.start(call);
    await greeted;
    await server.close();
    const failure = nextFailure(bot);
    await expect(bot.send(messageActivity('are you there?'))).resolves.toBeUndefined();
    const err = await failure;
    expect(err).toMatchObject({ kind: 'network' });
    expect(err.message).toMatch(/\(text\) failed: ECONNREFUSED \(is the Rasa server running\?\)$/);
  });

  it('reports a connection dropped while Rasa was processing the turn', async () => {
    const server = await serve();
    server.reply = (m) => (m.message === 'crash' ? 'drop' : []);
    const bot = connect(server.url);
    await bot.start(call);
    const failure = nextFailure(bot);
    await bot.send(messageActivity('crash'));
    const err = await failure;
    expect(err).toMatchObject({ kind: 'network' });
    expect(err.message).toMatch(/\(text\) failed: .+ \(is the Rasa server running\?\)$/);
  });
});

describe('Rasa: bad configuration', () => {
  it('refuses a url that is not an absolute http(s) URL, naming Rasa and the url', () => {
    expect(() => new RasaConnector({ name: 'moodbot', url: 'rasa:5005' })).toThrow('Rasa bot "moodbot": url "rasa:5005" is not an absolute http(s) URL of the Rasa server');
    expect(() => new RasaConnector({ name: 'moodbot', url: 'localhost' })).toThrow(/not an absolute http\(s\) URL/);
    expect(() => new RasaConnector({ name: 'moodbot', url: 'http://admin:pw@rasa:5005' })).toThrow('Rasa bot "moodbot": url must not contain credentials; use token or bearerToken');
  });
});
