/**
 * A dial plan COLLECT eventUrl on loopback: records every POST (path, headers, JSON body) and
 * answers with the status the test chooses (200 with an empty JSON object by default).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCollectEvent {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export class CollectEventReceiver {
  readonly received: ReceivedCollectEvent[] = [];
  /** Status code for the next answers. */
  status = 200;
  /** Take requests but never answer them (a hung eventUrl); close() drops them. */
  stall = false;
  private server?: Server;
  private waiters: { count: number; resolve: () => void }[] = [];

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'body is not JSON' }));
          return;
        }
        this.received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        if (!this.stall) res.writeHead(this.status, { 'content-type': 'application/json' }).end(this.status < 300 ? '{}' : JSON.stringify({ error: 'receiver failing' }));
        this.waiters = this.waiters.filter((w) => (this.received.length >= w.count ? (w.resolve(), false) : true));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path = '/collect'): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}${path}`;
  }

  /** Resolves once `count` events in all have arrived. */
  async waitFor(count: number): Promise<ReceivedCollectEvent[]> {
    if (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.received;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** A loopback URL where nothing listens (connection refused): an eventUrl that is down. */
export async function deadUrl(path = '/collect'): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}
