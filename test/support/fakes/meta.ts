// A fake of the Meta Conversions API (POST /{version}/{dataset}/events): checks the token, each event's required
// fields and that customer information arrives hashed; deduplicates by event_name + event_id as Meta does.
import { startFakeApi, type FakeApi } from './fake-api.js';

export const META_PIXEL = '123456789012345';
export const META_TOKEN = 'EAAB-meta-access-token';

export interface MetaEvent {
  event_name: string;
  event_time: number;
  event_id: string;
  action_source: string;
  user_data: Record<string, unknown>;
  custom_data?: Record<string, unknown>;
}

export interface FakeMeta extends FakeApi {
  /** Events kept after deduplication. */
  events: MetaEvent[];
  /** Events received, duplicates included. */
  received: MetaEvent[];
}

const graphError = (status: number, code: number, message: string, type = 'OAuthException') => ({
  status,
  body: { error: { message, type, code, fbtrace_id: 'AbCdEf123' } },
});

export const metaFailures = {
  badToken: graphError(400, 190, 'Invalid OAuth access token - Cannot parse access token'),
  throttled: graphError(400, 17, 'User request limit reached', 'OAuthException'),
  serverError: graphError(500, 2, 'An unexpected error has occurred. Please retry your request later.'),
};

const hashed = /^[0-9a-f]{64}$/;
const hashedKeys = ['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country', 'external_id'];

export async function startFakeMeta(version = 'v21.0'): Promise<FakeMeta> {
  const events: MetaEvent[] = [];
  const received: MetaEvent[] = [];
  const api = await startFakeApi((request) => {
    if (request.method !== 'POST' || request.path !== `/${version}/${META_PIXEL}/events`)
      return graphError(400, 100, `Unsupported post request (${request.path})`, 'GraphMethodException');
    let payload: { data?: MetaEvent[]; access_token?: string };
    try {
      payload = JSON.parse(request.body) as typeof payload;
    } catch {
      return graphError(400, 100, 'Invalid JSON', 'GraphMethodException');
    }
    if (payload.access_token !== META_TOKEN) return metaFailures.badToken;
    const data = payload.data ?? [];
    if (data.length === 0) return graphError(400, 100, 'The parameter data is required');
    const now = Math.floor(Date.now() / 1000);
    for (const [i, event] of data.entries()) {
      if (!event.event_name || !event.action_source || !Number.isInteger(event.event_time))
        return graphError(
          400,
          100,
          `Invalid parameter: data[${i}] needs event_name, event_time and action_source`,
        );
      if (event.event_time > now + 60 || event.event_time < now - 7 * 86400)
        return graphError(400, 100, `Invalid parameter: data[${i}].event_time is out of range`);
      for (const key of hashedKeys) {
        const values = event.user_data?.[key];
        if (values === undefined) continue;
        for (const value of Array.isArray(values) ? values : [values])
          if (!hashed.test(String(value)))
            return graphError(
              400,
              100,
              `Invalid parameter: data[${i}].user_data.${key} must be SHA-256 hashed`,
            );
      }
    }
    for (const event of data) {
      received.push(event);
      if (!events.some((e) => e.event_name === event.event_name && e.event_id === event.event_id))
        events.push(event);
    }
    return { status: 200, body: { events_received: data.length, messages: [], fbtrace_id: 'AbCdEf123' } };
  });
  return Object.assign(api, { events, received });
}
