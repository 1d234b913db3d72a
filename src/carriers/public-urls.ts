/** The public URLs Voxgate gives a carrier (webhooks, media sockets), derived from one configured base. */

export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The http(s) form of a ws(s) URL (signatures over a socket's URL use it, for carriers that sign so). */
export function httpForm(url: string): string {
  return url.replace(/^ws(s?):\/\//i, 'http$1://');
}

/** The ws(s) form of an http(s) URL: where a carrier opens its media socket. */
export function wsForm(url: string): string {
  return url.replace(/^http(s?):\/\//i, 'ws$1://');
}
