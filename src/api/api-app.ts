import type { FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from "fastify";
import type { Logger } from "pino";
import type { AccessGuard } from "./access-guard.js";
import type { ApiDeps } from "./api-deps.js";

/**
 * The fastify instance the routes are added to. Typed as HTTP; with TLS the server is an
 * https.Server, whose requests and responses are the same IncomingMessage and ServerResponse.
 */
export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;

/** What the route files share. */
export interface ApiContext {
  readonly deps: ApiDeps;
  readonly guard: AccessGuard;
}
