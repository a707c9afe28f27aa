// API Gateway HTTP API (payload format 2.0) to the transport-neutral request, and the response back.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { encode } from './server.js';
import type { ApiRequest, ApiResponse } from './types.js';

export function fromApiGateway(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {}))
    if (value !== undefined) headers[name.toLowerCase()] = value;
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  const body = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {}))
    if (value !== undefined) query[name] = value;
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query,
    rawQuery: event.rawQueryString ?? '',
    headers,
    body,
  };
}

export function toApiGateway(response: ApiResponse): APIGatewayProxyStructuredResultV2 {
  const encoded = encode(response);
  return {
    statusCode: encoded.status,
    headers: encoded.headers,
    body: encoded.body,
    ...(encoded.isBase64Encoded ? { isBase64Encoded: true } : {}),
  };
}
