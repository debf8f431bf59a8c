// CORS (Fetch standard §3.2), off unless origins are listed: an allowed origin is echoed back
// exactly, never "*"; every answer varies by Origin so that caches keep them apart.
import type { ApiApp } from "./api-app.js";

const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function registerCors(app: ApiApp, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && allowed.has(origin);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("vary", "Origin");
    const origin = request.headers.origin;
    if (!isAllowed(origin)) return;
    reply.header("access-control-allow-origin", origin);
    // So that a page can read when to retry after a 429.
    reply.header("access-control-expose-headers", "Retry-After");
  });

  // Preflight: 204 either way; without the allow headers, the browser refuses the real request.
  app.options("*", async (request, reply) => {
    if (isAllowed(request.headers.origin)) {
      reply.header("access-control-allow-methods", "GET, POST");
      reply.header("access-control-allow-headers", "Authorization, Content-Type");
      reply.header("access-control-max-age", String(PREFLIGHT_MAX_AGE_SECONDS));
    }
    return reply.code(204).send();
  });
}
