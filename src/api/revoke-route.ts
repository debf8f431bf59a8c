// POST /api/v1/credentials/revoke {"username": "<expiry>:<user>"}: the server refuses that
// username from now on and ends its allocations.
import { sendDenied } from "./access-guard.js";
import type { ApiApp, ApiContext } from "./api-app.js";
import { readBearerToken } from "./api-key-auth.js";
import { checkMintedUsername } from "./credential-request.js";
import { sendError } from "./http-errors.js";
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

    const allocationsEnded = await context.deps.revoke(username.value);
    request.log.info({ username: username.value, allocationsEnded, keyIndex: decision.keyIndex }, "credential revoked");
    return reply.send({ revoked: username.value, allocationsEnded });
  });
}
