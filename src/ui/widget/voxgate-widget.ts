/**
 * The embeddable click-to-talk widget: one script tag on any website,
 *   <script src="https://GATEWAY/widget/voxgate-widget.js" data-voxgate-key="vxw_..." data-voxgate-url="https://GATEWAY" async></script>
 * (optional data-voxgate-label: the call button's text). It adds a call button, a keypad (keys go
 * over the call's data channel), the live transcript and a hang-up button right after its script tag,
 * inside a Shadow DOM so the host page's CSS cannot restyle or hide its parts. Refusals (an origin the
 * key does not allow, a revoked key, a limit) show the gateway's error text as it came.
 *
 * Built by vite.config.ts as one self-contained IIFE with no framework; the DOM is built with
 * textContent only, so nothing the gateway sends can become markup.
 */
import { startBrowserCall, type BrowserCall } from '../webrtc/browser-call.js';
import { KEYPAD_KEYS, liveLine, SPEAKER_LABELS } from '../webrtc/live-transcript.js';
import { WIDGET_CSS } from './widget-style.js';

const MOUNTED = 'data-voxgate-mounted';

interface WidgetSettings {
  key: string;
  gatewayUrl: string;
  label: string;
}

function settingsOf(script: HTMLScriptElement): WidgetSettings | string {
  const key = script.dataset.voxgateKey?.trim();
  if (!key) return 'data-voxgate-key is missing: set it to the widget key (vxw_...) from the Voxgate console';
  // Default: the gateway the script came from.
  const gatewayUrl = (script.dataset.voxgateUrl?.trim() || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  return { key, gatewayUrl, label: script.dataset.voxgateLabel?.trim() || 'Talk to us' };
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) if (value !== undefined) el.setAttribute(name, value);
  if (text !== undefined) el.textContent = text;
  return el;
}

function styleShadow(root: ShadowRoot): void {
  // A constructed sheet is not inline style: host pages with a strict CSP (no 'unsafe-inline' styles) keep the look.
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet.prototype.replaceSync === 'function') {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.append(element('style', {}, WIDGET_CSS));
  }
}

/** Builds one widget after `script`, for the key and gateway its attributes name. */
export function mountWidget(script: HTMLScriptElement): void {
  if (script.hasAttribute(MOUNTED)) return;
  script.setAttribute(MOUNTED, '');
  const host = element('div', { class: 'voxgate-widget' });
  // A script in <head> has no place in the page's content: the widget goes to the end of <body> then.
  if (script.parentElement && script.parentElement !== document.head) script.after(host);
  else document.body.append(host);
  const root = host.attachShadow({ mode: 'open' });
  styleShadow(root);

  const panel = element('section', { 'aria-label': 'Voice call', part: 'panel' });
  const callButton = element('button', { type: 'button', class: 'call' });
  const status = element('p', { role: 'status', class: 'status' });
  const error = element('p', { role: 'alert', class: 'error' });
  const keypad = element('div', { role: 'group', 'aria-label': 'Keypad', class: 'keypad' });
  const hangUp = element('button', { type: 'button', class: 'hangup' }, 'Hang up');
  const transcript = element('ol', { 'aria-label': 'Transcript', 'aria-live': 'polite', class: 'transcript' });
  const audio = element('audio');
  panel.append(callButton, status, error, keypad, hangUp, transcript, audio);
  root.append(panel);

  const settings = settingsOf(script);
  let call: BrowserCall | undefined;
  const show = (inCall: boolean) => {
    callButton.hidden = inCall;
    keypad.hidden = !inCall;
    hangUp.hidden = !inCall;
  };
  show(false);
  callButton.textContent = typeof settings === 'string' ? 'Call unavailable' : settings.label;
  if (typeof settings === 'string') {
    callButton.disabled = true;
    error.textContent = settings;
    return;
  }

  for (const key of KEYPAD_KEYS) {
    const button = element('button', { type: 'button' }, key);
    button.addEventListener('click', () => call?.sendDigits(key, 'datachannel'));
    keypad.append(button);
  }
  hangUp.addEventListener('click', () => void call?.hangUp());
  callButton.addEventListener('click', () => {
    error.textContent = '';
    transcript.replaceChildren();
    call = startBrowserCall({ gatewayUrl: settings.gatewayUrl, credential: settings.key, audio });
    status.textContent = 'Connecting…';
    show(true);
    const current = call;
    current.on('state', (state) => {
      if (state === 'in-call') status.textContent = 'In call';
      if (state !== 'ended') return;
      show(false);
      status.textContent = current.end?.error ? 'Call failed' : 'Call ended';
      error.textContent = current.end?.error ?? '';
    });
    current.on('error', (message) => (error.textContent = message));
    const addLine = (line: ReturnType<typeof liveLine>) => {
      const item = element('li', { 'data-speaker': line.who });
      item.append(element('span', { class: 'speaker' }, `${SPEAKER_LABELS[line.who]}: `), element('span', { class: 'text' }, line.text));
      transcript.append(item);
    };
    current.on('transcript', (e) => addLine(liveLine(e)));
    current.on('dtmf', (e) => addLine(liveLine(e)));
  });
}

/** Mounts a widget for this script tag, and for any other tag with the attribute not yet mounted (async loads). */
function mountAll(own: Element | null): void {
  if (own instanceof HTMLScriptElement && own.dataset.voxgateKey !== undefined) mountWidget(own);
  for (const script of document.querySelectorAll<HTMLScriptElement>('script[data-voxgate-key]')) mountWidget(script);
}

// currentScript is only set while the script runs: taken now, before waiting for the body.
const ownScript = document.currentScript;
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mountAll(ownScript));
else mountAll(ownScript);
