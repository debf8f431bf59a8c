// Liveness, readiness and Prometheus metrics; no authentication. The endpoint listens on
// loopback unless configured otherwise: expose it further only behind a proxy that guards
// /metrics, which tells anyone who can read it how busy the server is.
import type { ApiApp, ApiContext } from "./api-app.js";
import type { MetricsRegistry } from "./metrics-registry.js";

export function registerHealthRoutes(app: ApiApp, context: ApiContext, metrics: MetricsRegistry): void {
  // Alive: the event loop answers.
  app.get("/healthz", { exposeHeadRoute: true }, async (_request, reply) => {
    return reply.header("cache-control", "no-store").send({ status: "ok" });
  });

  // Ready: every listener is up, a relay thread runs and the server is not draining; load balancers stop sending work otherwise.
  app.get("/readyz", { exposeHeadRoute: true }, async (_request, reply) => {
    const stats = context.deps.stats();
    const ready = stats.listenersUp && !stats.draining && stats.relayThreadsUp > 0;
    return reply
      .code(ready ? 200 : 503)
      .header("cache-control", "no-store")
      .send({
        ready,
        draining: stats.draining,
        allocations: stats.allocations,
        totalQuota: stats.totalQuota,
        relayPortsFree: stats.relayPortsFree,
        relayThreadsUp: stats.relayThreadsUp,
        // Not part of ready: without Redis this node still serves, it only stops sharing revocations.
        ...(stats.sharedRevocations !== undefined ? { sharedRevocations: stats.sharedRevocations } : {}),
      });
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.header("cache-control", "no-store").type(metrics.contentType).send(text);
  });
}
