/** A failed Azure Speech recognition; `permanent` ones (bad key or token) stop the session. */
export class AzureSttError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'AzureSttError';
  }
}
