// Minting: GET and POST /api/v1/credentials (answer: credentialResponse) and the
// draft-uberti-behave-turn-rest-00 §2.1 form, GET or POST /?service=turn&username=U&key=K.
import type { FastifyReply, FastifyRequest } from "fastify";
import { sendDenied } from "./access-guard.js";
import type { ApiApp, ApiContext } from "./api-app.js";
import type { MintedCredential } from "./api-deps.js";
import { readBearerToken } from "./api-key-auth.js";
import {
  type Checked,
  checkTtlNumber,
  checkTtlText,
  checkUser,
  effectiveTtlSeconds,
  readQueryParameter,
} from "./credential-request.js";
import { acceptOnlyFormBodies, mergeParameters } from "./form-body.js";
import { sendError } from "./http-errors.js";
import { credentialResponse } from "./ice-servers.js";
import { readBodyFields } from "./json-body.js";
import type { ParsedQuery } from "./query-string.js";

interface CredentialRequest {
  readonly user: string | undefined;
  readonly ttlSeconds: number | undefined;
}

export function registerCredentialRoutes(app: ApiApp, context: ApiContext): void {
  app.get("/api/v1/credentials", async (request, reply) => {
    const query = request.query as ParsedQuery;
    const mint = mintFor(context, request, reply, readBearerToken(request.headers.authorization), () =>
      queryRequest(query, { strict: true }),
    );
    return mint === undefined ? reply : reply.send(credentialResponse(mint, context.deps.iceUris()));
  });

  // The values may come in the query string, as for GET, or in a JSON body, not both.
  app.post("/api/v1/credentials", async (request, reply) => {
    const query = request.query as ParsedQuery;
    const mint = mintFor(context, request, reply, readBearerToken(request.headers.authorization), () =>
      Object.keys(query).length === 0 ? bodyRequest(request.body) : postQueryRequest(query, request.body),
    );
    return mint === undefined ? reply : reply.send(credentialResponse(mint, context.deps.iceUris()));
  });

  // draft-uberti-behave-turn-rest-00 §2.1. Janus (turnrest.c) sends GET, or by default POST with the
  // same parameters both in the query and as a form body, and the key as key= and as api=.
  app.get("/", async (request, reply) => answerDraftRequest(context, request, reply, request.query as ParsedQuery));
  void app.register(async (scope) => {
    acceptOnlyFormBodies(scope);
    scope.post("/", async (request, reply) => {
      const parameters = mergeParameters(request.query as ParsedQuery, (request.body as ParsedQuery | undefined) ?? {});
      if ("error" in parameters) return sendError(reply, 400, parameters.error);
      return answerDraftRequest(context, request, reply, parameters.value);
    });
  });
}

/** The draft's answer: username, password, ttl, uris. */
function answerDraftRequest(
  context: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  parameters: ParsedQuery,
): FastifyReply {
  const service = readQueryParameter(parameters, "service");
  if ("error" in service) return sendError(reply, 400, service.error);
  if (service.value !== "turn") return sendError(reply, 400, "service=turn is required");
  const key = readDraftKey(parameters);
  if ("error" in key) return sendError(reply, 400, key.error);
  const presentedKey = readBearerToken(request.headers.authorization) ?? key.value;
  const mint = mintFor(context, request, reply, presentedKey, () => queryRequest(parameters));
  if (mint === undefined) return reply;
  const { username, password, ttl, uris } = credentialResponse(mint, context.deps.iceUris());
  return reply.send({ username, password, ttl, uris });
}

/** key=, or api= (Janus's older name for it); both may be given if they agree. */
function readDraftKey(parameters: ParsedQuery): Checked<string | undefined> {
  const key = readQueryParameter(parameters, "key");
  if ("error" in key) return key;
  const api = readQueryParameter(parameters, "api");
  if ("error" in api) return api;
  if (key.value !== undefined && api.value !== undefined && key.value !== api.value) {
    return { error: "key and api must be the same key" };
  }
  return { value: key.value ?? api.value };
}

/**
 * Access first, then the request's values, then the credential; undefined when an answer has
 * already been sent (401, 403, 429, 400, 503).
 */
function mintFor(
  context: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  presentedKey: string | undefined,
  readRequest: () => Checked<CredentialRequest>,
): MintedCredential | undefined {
  reply.header("cache-control", "no-store");
  const decision = context.guard.check(request, presentedKey);
  if (!decision.allowed) {
    request.log.debug({ reason: decision.reason }, "credential request refused");
    sendDenied(reply, decision);
    return undefined;
  }
  const parsed = readRequest();
  if ("error" in parsed) {
    sendError(reply, 400, parsed.error);
    return undefined;
  }
  const { deps } = context;
  const ttlSeconds = effectiveTtlSeconds(parsed.value.ttlSeconds, deps.options);
  const credential = deps.mint(parsed.value.user, ttlSeconds);
  if (credential === undefined) {
    sendError(reply, 503, "REST credentials are not configured (no static-auth-secret)");
    return undefined;
  }
  request.log.debug({ username: credential.username, ttlSeconds, keyIndex: decision.keyIndex }, "credential minted");
  return credential;
}

const CREDENTIAL_PARAMETERS = ["username", "ttl"];

/** A POST with a query string: a body as well would leave it unclear which value counts. */
function postQueryRequest(query: ParsedQuery, body: unknown): Checked<CredentialRequest> {
  const fields = readBodyFields(body, CREDENTIAL_PARAMETERS);
  if ("error" in fields) return fields;
  if (Object.keys(fields.value).length > 0) return { error: "give username and ttl in the query string or in the body, not both" };
  return queryRequest(query, { strict: true });
}

/** strict: a parameter other than username and ttl is refused, so that a misspelt ttl is not ignored. */
function queryRequest(query: ParsedQuery, { strict = false } = {}): Checked<CredentialRequest> {
  if (strict && Object.keys(query).some((name) => !CREDENTIAL_PARAMETERS.includes(name))) {
    return { error: `unknown query parameter (allowed: ${CREDENTIAL_PARAMETERS.join(", ")})` };
  }
  const username = readQueryParameter(query, "username");
  if ("error" in username) return username;
  const user = checkUser(username.value);
  if ("error" in user) return user;
  const ttlText = readQueryParameter(query, "ttl");
  if ("error" in ttlText) return ttlText;
  const ttl = checkTtlText(ttlText.value);
  if ("error" in ttl) return ttl;
  return { value: { user: user.value, ttlSeconds: ttl.value } };
}

function bodyRequest(body: unknown): Checked<CredentialRequest> {
  const fields = readBodyFields(body, CREDENTIAL_PARAMETERS);
  if ("error" in fields) return fields;
  const user = checkUser(fields.value["username"]);
  if ("error" in user) return user;
  const ttl = checkTtlNumber(fields.value["ttl"]);
  if ("error" in ttl) return ttl;
  return { value: { user: user.value, ttlSeconds: ttl.value } };
}
