// A fake of the Amazon SES v2 API's SendEmail (POST /v2/email/outbound-emails): checks a SigV4 Authorization header
// for the ses service and the Simple content shape, answers { MessageId } or SES's typed errors.
import { randomBytes } from 'node:crypto';
import { startFakeApi, type FakeApi } from './fake-api.js';

export const SES_KEY_ID = 'AKIAFAKEFAKEFAKE1234';
export const SES_SECRET = 'ses-secret-access-key-value';

export interface SesEmail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string | undefined;
  html: string | undefined;
  headers: Record<string, string>;
  tags: Record<string, string>;
}

export interface FakeSes extends FakeApi {
  emails: SesEmail[];
}

const sesError = (status: number, type: string, message: string) => ({
  status,
  headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/` },
  body: { message },
});

export const sesFailures = {
  rejected: sesError(400, 'MessageRejected', 'Email address is not verified.'),
  throttled: sesError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.'),
  serverError: sesError(
    500,
    'InternalFailure',
    'The request processing has failed because of an unknown error.',
  ),
};

interface SendEmailBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: {
    Simple?: {
      Subject?: { Data?: string };
      Body?: { Text?: { Data?: string }; Html?: { Data?: string } };
      Headers?: { Name: string; Value: string }[];
    };
  };
  EmailTags?: { Name: string; Value: string }[];
}

export async function startFakeSes(region = 'eu-west-1'): Promise<FakeSes> {
  const emails: SesEmail[] = [];
  const api = await startFakeApi((request) => {
    if (request.method !== 'POST' || request.path !== '/v2/email/outbound-emails')
      return sesError(404, 'NotFoundException', `no route ${request.method} ${request.path}`);
    const auth = String(request.headers.authorization ?? '');
    const credential = new RegExp(
      `^AWS4-HMAC-SHA256 Credential=${SES_KEY_ID}/\\d{8}/${region}/ses/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
    );
    if (!credential.test(auth) || !request.headers['x-amz-date'])
      return sesError(
        403,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    const body = JSON.parse(request.body) as SendEmailBody;
    const simple = body.Content?.Simple;
    if (!body.FromEmailAddress || !body.Destination?.ToAddresses?.length || !simple?.Subject?.Data)
      return sesError(
        400,
        'BadRequestException',
        'FromEmailAddress, Destination and Content.Simple.Subject are required',
      );
    const email: SesEmail = {
      messageId: `0102${randomBytes(16).toString('hex')}-000000`,
      from: body.FromEmailAddress,
      to: body.Destination.ToAddresses,
      subject: simple.Subject.Data,
      text: simple.Body?.Text?.Data,
      html: simple.Body?.Html?.Data,
      headers: Object.fromEntries((simple.Headers ?? []).map((h) => [h.Name, h.Value])),
      tags: Object.fromEntries((body.EmailTags ?? []).map((t) => [t.Name, t.Value])),
    };
    emails.push(email);
    return { status: 200, body: { MessageId: email.messageId } };
  });
  return Object.assign(api, { emails });
}
