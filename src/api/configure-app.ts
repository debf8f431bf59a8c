// What every route shares: JSON bodies only, error answers in one shape that never echo a
// secret, JSON 404s, and one debug line per request.
import type { ApiApp } from "./api-app.js";
import { pathOf } from "./api-logging.js";
import { ApiRequestError, sendError } from "./http-errors.js";
import { parseJsonBody } from "./json-body.js";

/** Credential requests are a few dozen bytes. */
export const BODY_LIMIT_BYTES = 4096;

/** Percent-decoded as the router decodes it (fastify answers a malformed escape 400 before this). */
function decodedPath(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

/** Body parsing, errors and 404s: JSON only, and nothing echoed that could hold a secret. */
export function configureApp(app: ApiApp): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  // A known path asked with another method is 405 with Allow (RFC 9110 §15.5.6), not 404. The paths
  // are kept as registered: the router's own lookup would read a request's path as a route pattern.
  const methodsByPath = new Map<string, string[]>();
  app.addHook("onRoute", (route) => {
    if (/[:*]/.test(route.url)) return;
    const methods = methodsByPath.get(route.url) ?? [];
    for (const method of [route.method].flat()) if (!methods.includes(method)) methods.push(method);
    methodsByPath.set(route.url, methods.sort());
  });
  app.setNotFoundHandler((request, reply) => {
    // The router matched on the decoded path (/heal%74hz is /healthz), so the lookup does too.
    const allowed = methodsByPath.get(decodedPath(pathOf(request.url)));
    if (allowed === undefined) return sendError(reply, 404, "no such route");
    reply.header("allow", allowed.join(", "));
    return sendError(reply, 405, `method not allowed; use ${allowed.join(" or ")}`);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const given = error.statusCode ?? 500;
    const statusCode = given >= 400 && given < 600 ? given : 500;
    if (statusCode >= 500) {
      request.log.error({ err: error, path: pathOf(request.url) }, "api request failed");
      return sendError(reply, statusCode, "internal error");
    }
    return sendError(reply, statusCode, clientErrorMessage(error));
  });

  // Per-request lines at debug only, without the query string (the draft route carries the key there).
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        path: pathOf(request.url),
        statusCode: reply.statusCode,
        remoteAddress: request.ip,
        responseTimeMs: Math.round(reply.elapsedTime),
      },
      "api request",
    );
  });
}

function clientErrorMessage(error: Error & { code?: string }): string {
  if (error instanceof ApiRequestError) return error.message;
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `request body is larger than ${BODY_LIMIT_BYTES} bytes`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "request body must be application/json";
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return "request body length does not match Content-Length";
    default:
      return "bad request";
  }
}
