/** The Call resource as Twilio's REST API answers it (JSON), for create, fetch and update. */
import type { TwilioCall } from './twilio-call.js';
import { API_VERSION, rfc2822 } from './twilio-ids.js';

export function callResource(call: TwilioCall): Record<string, unknown> {
  const { accountSid } = call.env;
  const uri = `/${API_VERSION}/Accounts/${accountSid}/Calls/${call.callSid}.json`;
  const lastChange = call.endedAt ?? call.answeredAt ?? call.firedAt ?? call.createdAt;
  const startedAt = call.direction === 'inbound' ? call.createdAt : call.firedAt;
  const durationSec = call.endedAt !== undefined && call.answeredAt !== undefined ? Math.round((call.endedAt - call.answeredAt) / 1000) : call.endedAt !== undefined ? 0 : undefined;
  return {
    sid: call.callSid,
    account_sid: accountSid,
    parent_call_sid: null,
    date_created: rfc2822(call.createdAt),
    date_updated: rfc2822(lastChange),
    to: call.to,
    to_formatted: call.to,
    from: call.from,
    from_formatted: call.from,
    phone_number_sid: null,
    status: call.status,
    // When Twilio started the call: when it arrived (inbound) or was dialed after the calls-per-second queue.
    start_time: startedAt === undefined ? null : rfc2822(startedAt),
    end_time: call.endedAt === undefined ? null : rfc2822(call.endedAt),
    duration: durationSec === undefined ? null : String(durationSec),
    price: null,
    price_unit: 'USD',
    direction: call.direction,
    answered_by: call.answeredBy ?? null,
    api_version: API_VERSION,
    forwarded_from: null,
    group_sid: null,
    caller_name: call.callerName ?? null,
    queue_time: String(call.firedAt === undefined ? 0 : call.firedAt - call.createdAt),
    trunk_sid: null,
    uri,
    subresource_uris: {
      notifications: uri.replace('.json', '/Notifications.json'),
      recordings: uri.replace('.json', '/Recordings.json'),
      streams: uri.replace('.json', '/Streams.json'),
    },
  };
}
