/** HTTP Basic credentials, as both carriers' REST APIs take them (Plivo auth_id:auth_token, Twilio AccountSid:AuthToken). */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
