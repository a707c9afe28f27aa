// Event fixtures (test/fixtures/events/<source>/<case>.json): real API Gateway v2, EventBridge and SQS shapes, with
// {{placeholders}} for what only the test knows (organization id, signatures, tokens).
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export function fixture<T = any>(source: string, name: string, values: Record<string, string> = {}): T {
  const text = readFileSync(new URL(`../fixtures/events/${source}/${name}.json`, import.meta.url), 'utf8');
  return JSON.parse(text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole)) as T;
}

/** The raw body of an API Gateway event, decoded as the handler decodes it. */
export function bodyOf(event: APIGatewayProxyEventV2): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** Replaces the body (keeping its encoding). */
export function withBody(event: APIGatewayProxyEventV2, body: string): APIGatewayProxyEventV2 {
  return { ...event, body: event.isBase64Encoded ? Buffer.from(body).toString('base64') : body };
}

export function withHeader(event: APIGatewayProxyEventV2, name: string, value: string | undefined) {
  const headers = { ...event.headers };
  if (value === undefined) delete headers[name];
  else headers[name] = value;
  return { ...event, headers };
}
