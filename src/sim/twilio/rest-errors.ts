/**
 * Twilio's REST error answers: the HTTP status and a JSON body with Twilio's error `code`, a `message`,
 * `more_info` (the code's documentation page) and `status`, as the twilio helper libraries read them
 * (RestException). Codes used: 20003 authentication, 20404 not found, 21200 Calls resource, 21201 no To,
 * 21205 invalid Url, 21211/21212 invalid To/From, 21213 no From, 21220 call not in progress, 21609
 * invalid StatusCallback, 21626 invalid StatusCallbackEvent.
 */
export class TwilioRestError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** Extra explanation (Twilio sends it on authentication errors). */
    readonly detail?: string,
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
    };
  }
}

/** 400 for a bad request parameter. */
export const badRequest = (code: number, message: string) => new TwilioRestError(400, code, message);
