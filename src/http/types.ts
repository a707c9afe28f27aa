// The transport-neutral request and response that the local server and the Lambda handler both translate to.

export interface ApiRequest {
  method: string;
  /** Path without the query string, such as `/v1/events`. */
  path: string;
  query: Record<string, string>;
  /** The query string exactly as received, without `?` (Twilio signs the URL it called). */
  rawQuery?: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The raw body, as received (signatures are computed over it). */
  body: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is a string, or a Buffer (binary, such as the tracking pixel). */
  body?: unknown;
}
