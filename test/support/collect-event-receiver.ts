/**
 * A dial plan COLLECT eventUrl on loopback: records every POST (path, headers, JSON body) and
 * answers with the status the test chooses (200 with an empty JSON object by default).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { FakeVendorServer, receive, RequestLog, sendJson } from './fake-vendor-server.js';
import type { AddressInfo } from 'node:net';

export interface ReceivedCollectEvent {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export class CollectEventReceiver {
  private readonly log = new RequestLog<ReceivedCollectEvent>();
  readonly received = this.log.entries;
  /** Status code for the next answers. */
  status = 200;
  /** Take requests but never answer them (a hung eventUrl); close() drops them. */
  stall = false;

  private readonly server = new FakeVendorServer(async (req, res) => {
    const received = await receive(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(received.text) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { error: 'body is not JSON' });
      return;
    }
    this.log.add({ method: received.method, path: received.url, headers: received.headers, body });
    // A stalled request is left open: close() ends it.
    if (!this.stall) sendJson(res, this.status, this.status < 300 ? {} : { error: 'receiver failing' });
  });

  async listen(): Promise<this> {
    await this.server.listen();
    return this;
  }

  url(path = '/collect'): string {
    return `${this.server.origin}${path}`;
  }

  /** Resolves once `count` events in all have arrived. */
  async waitFor(count: number): Promise<ReceivedCollectEvent[]> {
    return this.log.atLeast(count);
  }

  async close(): Promise<void> {
    await this.server.close();
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
