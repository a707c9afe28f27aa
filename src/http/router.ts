// A small router: method and path pattern to handler, plus the mapping of errors to the JSON error of DESIGN.md.
import type { $ZodError } from 'zod/v4/core';
import { HttpError, type ApiIssue } from '../shared/errors.js';
import type { ApiRequest, ApiResponse } from './types.js';

export type Params = Record<string, string>;

export interface Route<Ctx> {
  method: string;
  /** `/v1/things/:id`; a last segment `*name` matches the rest of the path, slashes included. */
  pattern: string;
  /** Served without authentication (the handler checks what it needs). */
  public?: boolean;
  handle(request: ApiRequest, params: Params, context: Ctx): Promise<ApiResponse>;
}

interface Compiled<Ctx> extends Route<Ctx> {
  regex: RegExp;
  names: string[];
}

/** The route a request goes to, and its path parameters, percent-decoded. */
export interface Match<Ctx> {
  route: Route<Ctx>;
  params: Params;
  /**
   * Set when a path parameter is not valid percent-encoding (`%E0`): a 400 naming it, answered once the route's
   * authentication has passed (the route exists, so a public one answers it to anyone).
   */
  malformed?: HttpError;
}

/** A path parameter percent-decoded, or the 400 that names it when it is not valid percent-encoding. */
function decodeParam(name: string, raw: string): string | HttpError {
  try {
    return decodeURIComponent(raw);
  } catch {
    const message = 'is not valid percent-encoding';
    return new HttpError(400, 'validation_failed', `invalid request: ${name}: ${message}`, [
      { path: name, message },
    ]);
  }
}

export function createRouter<Ctx>(routes: Route<Ctx>[]) {
  const compiled: Compiled<Ctx>[] = routes.map((route) => {
    const names: string[] = [];
    const source = route.pattern.replace(/([:*])([A-Za-z]+)/g, (_, kind: string, name: string) => {
      names.push(name);
      return kind === '*' ? '(.*)' : '([^/]+)';
    });
    return { ...route, regex: new RegExp(`^${source}/?$`), names };
  });

  /** The route of a request; an unknown path or method throws its HttpError (404, 405), and nothing else throws. */
  return function find(method: string, path: string): Match<Ctx> {
    let pathMatched = false;
    for (const route of compiled) {
      const match = route.regex.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Params = {};
      let malformed: HttpError | undefined;
      route.names.forEach((name, i) => {
        const decoded = decodeParam(name, match[i + 1]!);
        if (decoded instanceof HttpError) malformed ??= decoded;
        else params[name] = decoded;
      });
      return { route, params, ...(malformed ? { malformed } : {}) };
    }
    if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
    throw new HttpError(404, 'not_found', `no route for ${method} ${path}`);
  };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers };
}

export function zodIssues(error: $ZodError, prefix = ''): ApiIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));
}

/** Parses a value with a schema (classic zod or zod/mini); a failure is a 400 that names each field at fault. */
export function parseWith<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: $ZodError } },
  value: unknown,
  prefix = '',
): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = zodIssues(result.error, prefix);
  throw new HttpError(
    400,
    'validation_failed',
    `invalid request: ${issues[0]?.path || 'body'}: ${issues[0]?.message ?? ''}`,
    issues,
  );
}

export function errorResponse(error: HttpError): ApiResponse {
  return json(error.status, {
    error: {
      code: error.code,
      message: error.message,
      ...(error.issues.length > 0 ? { issues: error.issues } : {}),
    },
  });
}
