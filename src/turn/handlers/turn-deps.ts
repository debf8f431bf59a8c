import type { IpFamily } from "../../stun/address.js";
import { attributeError } from "../attribute-checks.js";
import type { CredentialStore } from "../authenticate.js";
import { findAllocation, type AllocationTable } from "../allocation-table.js";
import { authenticate, unauthenticatedChallenge, type AuthContext, type Authenticated } from "../authenticate.js";
import { CredentialRejected, StunError } from "../stun-error.js";
import type { RequestContext } from "../dispatch.js";
import type { NonceService } from "../nonce.js";
import type { PeerPolicy } from "../peer-policy.js";
import type { AllocationQuota, Clock, Logger, RelayAllocator } from "../ports.js";
import type { TurnCounters } from "../counters.js";

export interface TurnOptions {
  readonly realm: string;
  /** RFC 8656 §7.2: 600 s unless the client asks for more. */
  readonly defaultLifetimeSeconds: number;
  readonly maxAllocateLifetimeSeconds: number;
  readonly userQuota: number;
  readonly totalQuota: number;
  readonly maxPermissionsPerAllocation: number;
  readonly maxChannelsPerAllocation: number;
  /** 0x4FFF (RFC 8656 §12), or 0x7FFF with rfc5766-channel-numbers. */
  readonly maxChannelNumber: number;
  /** Refuse an expired REST credential even for requests on the allocation it made. */
  readonly strictExpiry: boolean;
  /** allocation-default-address-family: the relay family when an Allocate names none; "keep", the client's own. */
  readonly defaultAddressFamily: IpFamily | "keep";
  /** Draining: no new allocations (403); existing ones run on. */
  readonly draining?: boolean;
  /** max-bps: bytes per second each allocation may relay, both ways together; 0 for no limit. */
  readonly maxBps: number;
}

/** Everything the TURN handlers read or change; built once by the server. */
export interface TurnDeps {
  readonly options: TurnOptions;
  readonly table: AllocationTable;
  readonly relays: RelayAllocator;
  /** Shared by every relay thread; released through the table's onRemove. */
  readonly quota: AllocationQuota;
  readonly peerPolicy: PeerPolicy;
  readonly nonces: NonceService;
  readonly credentials: CredentialStore;
  readonly counters: TurnCounters;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * RFC 8489 §9.2.4 for a request; on success every response to it is signed with the user's key, and
 * its attributes are checked (attributeError: 420, or 400 for a malformed SOFTWARE).
 * Expiry policy: an allocation outlives its REST credential. Requests on the 5-tuple of an existing
 * allocation (Refresh, CreatePermission, ChannelBind) verify with an expired credential, unless
 * strict-expiry; a new Allocate always needs an unexpired one; a revoked credential never verifies.
 * A request that does not authenticate gets the StunError to answer with (the handler returns it).
 */
export function authenticateRequest(ctx: RequestContext, deps: TurnDeps): Authenticated | StunError {
  const acceptExpired =
    !deps.options.strictExpiry && findAllocation(deps.table, ctx.link, ctx.clientAddress.address, ctx.clientAddress.port) !== undefined;
  const authenticated = authenticateWith(ctx, deps, acceptExpired);
  if (authenticated instanceof StunError) return authenticated;
  ctx.integrity = { key: authenticated.key, algorithm: authenticated.integrity };
  return attributeError(ctx.message) ?? authenticated;
}

/** authenticate() for this request, the caller deciding whether an expired REST credential verifies; a StunError is an answer to check for, not an exception. */
export function authenticateWith(ctx: RequestContext, deps: TurnDeps, acceptExpired: boolean): Authenticated | StunError {
  return authenticate(ctx.message, authContext(ctx, deps, acceptExpired));
}

/**
 * For a request that waited (on another relay thread) after it authenticated: a credential revoked
 * or removed meanwhile gets the 401 it would get now, unsigned, with a fresh challenge. Only that is
 * checked again: a nonce that went stale, or a REST credential that expired, during the wait does
 * not undo what the client was already granted.
 */
export function assertCredentialStillValid(ctx: RequestContext, deps: TurnDeps, user: Authenticated): void {
  if (deps.credentials.keysFor(user.username, user.passwordAlgorithm, deps.clock.now(), { acceptExpired: true }).length > 0) return;
  ctx.integrity = undefined;
  throw new CredentialRejected("credential revoked while the request waited", unauthenticatedChallenge(authContext(ctx, deps, true)), user.username);
}

function authContext(ctx: RequestContext, deps: TurnDeps, acceptExpired: boolean): AuthContext {
  return {
    acceptExpired,
    realm: deps.options.realm,
    nonces: deps.nonces,
    credentials: deps.credentials,
    nowMs: deps.clock.now(),
    clientAddress: ctx.clientAddress.address,
    clientPort: ctx.clientAddress.port,
  };
}
