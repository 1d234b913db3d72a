/** Plivo's V3 signature headers on the simulator's requests to the application (callbacks and stream upgrades). */
import { randomInt } from 'node:crypto';
import { computeV3Signature } from '../carriers/plivo/signature.js';
import type { HttpMethod } from './app-requests.js';

/** A nonce Plivo-style: random decimal digits. */
function newNonce(): string {
  let s = '';
  for (let i = 0; i < 20; i++) s += String(randomInt(10));
  return s;
}

export function plivoSignedHeaders(method: HttpMethod, url: string, params: Record<string, string>, authToken: string): Record<string, string> {
  const nonce = newNonce();
  return {
    'X-Plivo-Signature-V3': computeV3Signature({ method, url, params, nonce, authToken }),
    'X-Plivo-Signature-V3-Nonce': nonce,
  };
}
