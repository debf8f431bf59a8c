// POST /api/v1/credentials/revoke {"username": "<expiry>:<user>"}: the server refuses that
// username from now on and ends its allocations; with redis-url, every node does. When Redis cannot
// take it in time, 503: this node has revoked it, the others may not have, and sending it again is safe.
import { sendDenied } from "./access-guard.js";
import type { ApiApp, ApiContext } from "./api-app.js";
import { readBearerToken } from "./api-key-auth.js";
import { checkMintedUsername } from "./credential-request.js";
import { errorBody, sendError } from "./http-errors.js";
import { readBodyFields } from "./json-body.js";

export function registerRevokeRoute(app: ApiApp, context: ApiContext): void {
  app.post("/api/v1/credentials/revoke", async (request, reply) => {
    reply.header("cache-control", "no-store");
    const decision = context.guard.check(request, readBearerToken(request.headers.authorization));
    if (!decision.allowed) {
      request.log.debug({ reason: decision.reason }, "revoke request refused");
      return sendDenied(reply, decision);
    }
    const fields = readBodyFields(request.body, ["username"]);
    if ("error" in fields) return sendError(reply, 400, fields.error);
    const username = checkMintedUsername(fields.value["username"]);
    if ("error" in username) return sendError(reply, 400, username.error);

    const { allocationsEnded, shared } = await context.deps.revoke(username.value);
    if (shared !== undefined && shared !== true) {
      request.log.warn({ username: username.value, allocationsEnded, keyIndex: decision.keyIndex, error: shared.error }, "credential revoked on this node, maybe not on the others");
      // Revoking again is harmless: the client retries until every node has it.
      return reply
        .code(503)
        .header("retry-after", "5")
        .send({ ...errorBody(503, `revoked on this node; the other nodes may not have been told (${shared.error}): send it again`), revoked: username.value, allocationsEnded, shared: false });
    }
    request.log.info({ username: username.value, allocationsEnded, keyIndex: decision.keyIndex, ...(shared ? { shared } : {}) }, "credential revoked");
    return reply.send({ revoked: username.value, allocationsEnded, ...(shared ? { shared } : {}) });
  });
}
