// A fake of Stripe's customers API: bearer secret key, form encoding with `metadata[key]`, and Stripe's idempotency:
// the same Idempotency-Key with the same parameters replays the first answer (`Idempotent-Replayed: true`).
import { randomBytes } from 'node:crypto';
import { bearerOf, startFakeApi, type FakeAnswer, type FakeApi } from './fake-api.js';

export const STRIPE_KEY = 'sk_test_fake_0123456789';

export interface StripeCustomer {
  id: string;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  metadata: Record<string, string>;
  idempotencyKey: string | undefined;
}

export interface FakeStripe extends FakeApi {
  /** Customers created (replays create none). */
  customers: StripeCustomer[];
}

const error = (status: number, type: string, message: string, code?: string) => ({
  status,
  body: { error: { type, message, ...(code ? { code } : {}) } },
});

export const stripeFailures = {
  serverError: error(500, 'api_error', 'Something went wrong on our end.'),
  invalidEmail: error(400, 'invalid_request_error', 'Invalid email address: nope', 'email_invalid'),
};

export async function startFakeStripe(): Promise<FakeStripe> {
  const customers: StripeCustomer[] = [];
  const seen = new Map<string, { body: string; answer: FakeAnswer }>();
  const api = await startFakeApi((request) => {
    if (request.method !== 'POST' || request.path !== '/v1/customers')
      return error(
        404,
        'invalid_request_error',
        `Unrecognized request URL (${request.method}: ${request.path}).`,
      );
    if (bearerOf(request.headers) !== STRIPE_KEY)
      return error(401, 'invalid_request_error', 'Invalid API Key provided: sk_test_****');
    const key = request.headers['idempotency-key'] as string | undefined;
    const previous = key ? seen.get(key) : undefined;
    if (previous) {
      if (previous.body !== request.body)
        return error(
          400,
          'idempotency_error',
          'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        );
      return { ...previous.answer, headers: { 'idempotent-replayed': 'true', 'idempotency-key': key! } };
    }
    const form = new URLSearchParams(request.body);
    const metadata: Record<string, string> = {};
    for (const [name, value] of form) {
      const match = /^metadata\[(.+)\]$/.exec(name);
      if (match) metadata[match[1]!] = value;
    }
    const email = form.get('email');
    if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) return stripeFailures.invalidEmail;
    const customer: StripeCustomer = {
      id: `cus_${randomBytes(7).toString('hex')}`,
      email,
      name: form.get('name'),
      phone: form.get('phone'),
      description: form.get('description'),
      metadata,
      idempotencyKey: key,
    };
    customers.push(customer);
    const answer = {
      status: 200,
      body: { ...customer, idempotencyKey: undefined, object: 'customer', livemode: false },
    };
    if (key) seen.set(key, { body: request.body, answer });
    return answer;
  });
  return Object.assign(api, { customers });
}
