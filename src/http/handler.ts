// One request through a set of routes, the same for the management API and the lean ingest API: the body size limit,
// authentication before any route that is not public is found, the route, and errors as the JSON error of DESIGN.md.
import type { Logger } from '../observability/logger.js';
import { HttpError } from '../shared/errors.js';
import type { AuthContext, Principal } from './auth.js';
import { createRouter, errorResponse, json, type Route } from './router.js';
import type { ApiRequest, ApiResponse } from './types.js';

export interface HandlerOptions<Ctx extends AuthContext> {
  routes: Route<Ctx>[];
  maxBodyBytes: number;
  authenticate(request: ApiRequest): Promise<Principal>;
  /** The context a route gets; `principal` authenticates the request once, when first asked. */
  context(principal: () => Promise<Principal>): Ctx;
  /** Routes served without authentication besides those marked `public`. */
  isPublic?(route: Route<Ctx>, path: string): boolean;
  logger: Pick<Logger, 'error'>;
}

export function createHandler<Ctx extends AuthContext>(options: HandlerOptions<Ctx>) {
  const find = createRouter(options.routes);
  const { maxBodyBytes, logger } = options;

  return async function handle(request: ApiRequest): Promise<ApiResponse> {
    // What a failure's log names: the route's pattern, never the path, whose segments may carry a bearer token
    // (`/v1/u/:token`, `/v1/t/c/:token`).
    let route = 'unmatched';
    try {
      if (Buffer.byteLength(request.body) > maxBodyBytes)
        throw new HttpError(413, 'payload_too_large', `request body exceeds ${maxBodyBytes} bytes`);
      let principal: Promise<Principal> | undefined;
      const context = options.context(() => (principal ??= options.authenticate(request)));
      // An unknown route is answered only after authentication, so an anonymous caller learns nothing of which exist.
      let found: ReturnType<typeof find> | HttpError;
      try {
        found = find(request.method.toUpperCase(), request.path);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        found = error;
      }
      if (!(found instanceof HttpError)) route = found.route.pattern;
      const open =
        !(found instanceof HttpError) &&
        (found.route.public === true || options.isPublic?.(found.route, request.path) === true);
      if (!open) await context.principal();
      if (found instanceof HttpError) throw found;
      if (found.malformed) throw found.malformed;
      return await found.route.handle(request, found.params, context);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      logger.error({ err: error, method: request.method, route }, 'request failed');
      return json(500, {
        error: { code: 'internal_error', message: 'the engine failed to handle this request' },
      });
    }
  };
}
