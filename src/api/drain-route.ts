// POST /api/v1/drain: no new allocations from now on; the process ends when the last one goes or
// drain-grace has passed. /readyz answers 503 meanwhile, so a load balancer stops sending clients.
import { sendDenied } from "./access-guard.js";
import type { ApiApp, ApiContext } from "./api-app.js";
import { readBearerToken } from "./api-key-auth.js";

export function registerDrainRoute(app: ApiApp, context: ApiContext): void {
  app.post("/api/v1/drain", async (request, reply) => {
    reply.header("cache-control", "no-store");
    const decision = context.guard.check(request, readBearerToken(request.headers.authorization));
    if (!decision.allowed) return sendDenied(reply, decision);
    context.deps.drain();
    request.log.info({ keyIndex: decision.keyIndex }, "drain requested");
    const { allocations } = context.deps.stats();
    return reply.code(202).send({ draining: true, allocations });
  });
}
