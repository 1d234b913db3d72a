/**
 * Stand-ins for Voxgate instances behind a load balancer: loopback HTTP and WebSocket servers that
 * answer every request and every upgraded socket with their name and what they were sent (URL,
 * forwarded headers), and answer /readyz 200 or, once told to drain, 503 as a draining Voxgate does.
 * What the load-balancer tests look at is where each request landed, not what Voxgate does with it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface Landing {
  instance: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export class InstanceDouble {
  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly server: Server,
    private readonly state: { ready: boolean },
    private readonly sockets: Set<WebSocket>,
  ) {}

  static async start(name: string): Promise<InstanceDouble> {
    const landing = (req: IncomingMessage): Landing => ({ instance: name, url: req.url ?? '', headers: req.headers });
    const state = { ready: true };
    const sockets = new Set<WebSocket>();
    const server = createServer((req, res) => {
      if (req.url === '/readyz') {
        const { ready } = state;
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
        return;
      }
      // Drain the body (carrier callbacks are POSTs) before answering.
      req.resume();
      req.once('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(landing(req))));
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket, req) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.send(JSON.stringify(landing(req)));
      // Echo: shows media flows both ways through the tunnel.
      socket.on('message', (data) => socket.send(JSON.stringify({ instance: name, echo: data.toString() })));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new InstanceDouble(name, (server.address() as AddressInfo).port, server, state, sockets);
  }

  /** /readyz answers 503 from now on (a Voxgate that got SIGTERM). */
  drain(): void {
    this.state.ready = false;
  }

  /** Gone at once, as after SIGKILL: the port refuses connections. */
  async kill(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  stop(): Promise<void> {
    return this.server.listening ? this.kill() : Promise.resolve();
  }
}

/** A loopback TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A routing token as Voxgate puts it in carrier URLs: `<instance id>.<22 base64url chars>`. */
export function routingToken(instanceId: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let sig = '';
  for (let i = 0; i < 22; i++) sig += alphabet[Math.floor(Math.random() * alphabet.length)];
  return `${instanceId}.${sig}`;
}

/** One HTTP request through the load balancer; which instance took it, with what it saw. */
export async function requestThrough(baseUrl: string, path: string, init: RequestInit = {}): Promise<Landing> {
  const response = await fetch(new URL(path, baseUrl), { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Landing;
}

/**
 * One WebSocket through the load balancer: the instance that accepted it, and its echo of a message
 * sent over it (the tunnel carries both directions). The socket is closed afterwards.
 */
export async function websocketThrough(baseUrl: string, path: string): Promise<{ landing: Landing; echo: { instance: string; echo: string } }> {
  const url = new URL(path, baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    waiters.splice(0).forEach((w) => w());
  });
  const next = (index: number) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`websocket ${path}: no message ${index + 1} within 15 s`)), 15_000);
      const check = () => {
        if (messages.length > index) {
          clearTimeout(timer);
          resolve(messages[index]);
        } else waiters.push(check);
      };
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      check();
    });
  try {
    const landing = (await next(0)) as Landing;
    socket.send('hello over the tunnel');
    const echo = (await next(1)) as { instance: string; echo: string };
    return { landing, echo };
  } finally {
    socket.close();
  }
}

/** Polls `condition` until it holds, or fails after `timeoutMs` with `what`. */
export async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
