/**
 * A plain website on its own loopback port (another origin than the gateway) embedding the widget
 * with the documented script tag; `/?key=<widget key>` is the page for that key. Its CSS hides every
 * button and makes text white and tiny: the widget's Shadow DOM must keep its own look regardless.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WidgetHostPage {
  /** http://127.0.0.1:<port>; the same server is also reachable as http://localhost:<port>, another origin. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function pageFor(gatewayUrl: string, key: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Example shop</title>
    <style>button { display: none !important; } * { color: #fff !important; font-size: 4px !important; }</style>
  </head>
  <body>
    <h1>Example shop</h1>
    <p>Questions? Talk to our assistant:</p>
    <script src="${escape(gatewayUrl)}/widget/voxgate-widget.js" data-voxgate-key="${escape(key)}" data-voxgate-url="${escape(gatewayUrl)}" data-voxgate-label="Talk to our assistant" async></script>
  </body>
</html>`;
}

export async function startWidgetHostPage(gatewayUrl: string): Promise<WidgetHostPage> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://host');
    const key = url.searchParams.get('key');
    if (url.pathname !== '/' || !key) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageFor(gatewayUrl, key));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
