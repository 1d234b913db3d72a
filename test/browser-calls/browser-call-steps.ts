/** Steps the browser-call tests share: placing a call from the softphone, reading a call's record, finding transcript lines. */
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { CallDetail } from '../../src/ui/types.js';
import { ADMIN_TOKEN, type BrowserCallE2e } from '../support/browser.js';

/** Clicks Call on the softphone page and waits until the call is connected. */
export async function callFromSoftphone(page: Page, bot: string): Promise<void> {
  await page.getByRole('button', { name: 'Call', exact: true }).click();
  await page.getByRole('status').filter({ hasText: `In call with ${bot}` }).waitFor();
}

/** The call id the softphone links to once a call ended ("Open in call history"). */
export async function historyLinkCallId(page: Page): Promise<string> {
  const href = await page.getByRole('link', { name: 'Open in call history' }).getAttribute('href');
  const id = /^#\/calls\/(.+)$/.exec(href ?? '')?.[1];
  expect(id, `history link ${href}`).toBeDefined();
  return decodeURIComponent(id!);
}

/** The call's record as the API gives it, once its writes are flushed. */
export async function callRecord(t: BrowserCallE2e, callId: string): Promise<CallDetail> {
  await t.e2e.gateway.records.flush();
  const res = await fetch(`${t.e2e.gateway.publicUrl}/api/v1/calls/${encodeURIComponent(callId)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as CallDetail;
}

/** A line of a live transcript (softphone or widget) said by `who` (bot, caller, system, keypad). */
export function lineBy(transcript: Locator, who: 'bot' | 'caller' | 'system' | 'keypad', text: string): Locator {
  return transcript.locator(`li[data-speaker="${who}"]`, { hasText: text });
}

export interface CreatedWidgetKey {
  key: { id: string; name: string; bot: string; origins: string[] };
  secret: string;
}

/** Creates a widget key through the API, as an operator would (POST /api/v1/widget-keys). */
export async function createWidgetKey(t: BrowserCallE2e, body: { name: string; bot: string; origins: string[] }): Promise<CreatedWidgetKey> {
  const res = await fetch(`${t.e2e.gateway.publicUrl}/api/v1/widget-keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as CreatedWidgetKey;
}

export async function revokeWidgetKey(t: BrowserCallE2e, id: string): Promise<void> {
  const res = await fetch(`${t.e2e.gateway.publicUrl}/api/v1/widget-keys/${encodeURIComponent(id)}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status, await res.clone().text()).toBe(200);
}
