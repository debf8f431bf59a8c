// The endpoint's logger: a child of the server's, with the request serializer reduced to what
// cannot hold a secret (no query string: the draft route carries the key there; no headers:
// Authorization) and redaction on top, in case a secret is ever logged by field name.
import type { Logger } from "pino";
import { REDACTED_PATHS } from "../server/log-redaction.js";

/** Replaces the parent's redaction, so it repeats the server's paths and adds the endpoint's own. */
export const API_REDACTED_PATHS: readonly string[] = [...REDACTED_PATHS, "headers.authorization", "query.key", "req.query.key"];

interface LoggedRequest {
  readonly method?: unknown;
  readonly url?: unknown;
  readonly ip?: unknown;
}

export function createApiLogger(logger: Logger): Logger {
  return logger.child(
    { component: "api" },
    {
      redact: { paths: [...API_REDACTED_PATHS], censor: "[redacted]" },
      serializers: { req: serializeRequest },
    },
  );
}

/** Method, path without the query string, client address. */
export function serializeRequest(request: LoggedRequest): object {
  return {
    method: request.method,
    path: typeof request.url === "string" ? pathOf(request.url) : undefined,
    remoteAddress: request.ip,
  };
}

export function pathOf(url: string): string {
  const question = url.indexOf("?");
  return question === -1 ? url : url.slice(0, question);
}
