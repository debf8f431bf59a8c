import { randomBytes } from "node:crypto";
import type { ServerStats } from "../api/api-deps.js";
import type { Config } from "../config/config.js";
import { createCredentialStore } from "../credentials/credential-store.js";
import { createLiveCredentialStore, staticUserChange } from "../credentials/live-credential-store.js";
import { parseStaticUser } from "../credentials/static-users.js";
import type { UdpRelayAllocator } from "../transport/relay-allocator.js";
import { MAX_CHANNEL_NUMBER, RFC5766_MAX_CHANNEL_NUMBER } from "../turn/allocation.js";
import { createAllocationTable } from "../turn/allocation-table.js";
import { createTurnCounters } from "../turn/counters.js";
import { createDispatcher, type PacketHandler } from "../turn/dispatch.js";
import { createTurnService, type TurnService, type UnknownClientHold } from "../turn/handlers/turn-handlers.js";
import type { TurnOptions } from "../turn/handlers/turn-deps.js";
import { parseIpRange } from "../turn/ip-range.js";
import { createNonceService } from "../turn/nonce.js";
import { createPeerPolicy, type PeerPolicy } from "../turn/peer-policy.js";
import { createSourceRateLimit } from "../turn/source-rate-limit.js";
import type { AllocationQuota, Clock, Logger } from "../turn/ports.js";
import { createLocalQuota, createQuotaLedger, effectiveTotalQuota } from "../turn/quota.js";

// RFC 8656 §7.2: the default allocation lifetime.
const DEFAULT_LIFETIME_SECONDS = 600;
// A page opening several peer connections, or a load test of a few dozen clients behind one address,
// stays within the burst; a flood from one address gets twenty answers a second.
const UNAUTHENTICATED_LIMIT = { burst: 200, perSecond: 20 };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The TURN core of one server: state, credentials and peer policy, reloadable in place. */
export interface TurnRuntime {
  readonly onPacket: PacketHandler;
  readonly service: TurnService;
  readonly maxChannelNumber: number;
  /** Our own endpoints are known once the sockets are bound; until then no peer is allowed. */
  setOwnEndpoints(endpoints: readonly { readonly address: string; readonly port: number }[]): void;
  /** This host's addresses: at them only relay ports are peers (see PeerPolicyOptions.hostAddresses). */
  setHostAddresses(addresses: readonly string[]): void;
  /** Credentials, peer lists and quotas from a new config; allocations stay. */
  reload(config: Config): void;
  revoke(username: string): number;
  /** No new allocations from now on (403); existing ones run on. */
  drain(): void;
  /** The sweeper tick: expiries, reservations, revocations past their credential's expiry. */
  sweep(): void;
  stats(): Omit<ServerStats, "listenersUp" | "draining" | "relayHeapUsedBytes" | "relayHeapSizeBytes" | "heapTrims" | "relayThreadsUp" | "relayThreadRestarts">;
}

/**
 * `sharedQuota`: the quota held across relay threads (in memory they share); without it the
 * runtime keeps its own ledger. `unknownClientHold`: with several relay threads (TurnService).
 */
export function createTurnRuntime(
  config: Config,
  relays: UdpRelayAllocator,
  clock: Clock,
  log: Logger,
  sharedQuota?: AllocationQuota,
  unknownClientHold?: UnknownClientHold,
): TurnRuntime {
  const maxChannelNumber = config.rfc5766ChannelNumbers ? RFC5766_MAX_CHANNEL_NUMBER : MAX_CHANNEL_NUMBER;
  const ledger = sharedQuota ? undefined : createQuotaLedger(config);
  const quota = sharedQuota ?? createLocalQuota(ledger!);
  const table = createAllocationTable((allocation) => quota.release(allocation.username));
  const counters = createTurnCounters();
  const options: Mutable<TurnOptions> = { ...turnOptionsOf(config), maxChannelNumber };
  let bpsCapacity = config.bpsCapacity;
  const credentials = createLiveCredentialStore(credentialStoreOf(config, config.realm), config.restApiSeparator);
  /** The user= entries in force: a reload that changes one ends that user's revocation. */
  let staticUsers = config.users;
  let ownEndpoints: readonly { readonly address: string; readonly port: number }[] = [];
  let hostAddresses: readonly string[] = [];
  let policy: PeerPolicy = { isPeerAllowed: () => false, isPeerAddressAllowed: () => false, isPermittedPeerPortAllowed: () => false, isHostService: () => false };
  let policyConfig = config;

  const service = createTurnService(
    {
      options,
      table,
      relays,
      quota,
      peerPolicy: {
        isPeerAllowed: (address, port) => policy.isPeerAllowed(address, port),
        isPeerAddressAllowed: (address) => policy.isPeerAddressAllowed(address),
        isPermittedPeerPortAllowed: (address, port) => policy.isPermittedPeerPortAllowed(address, port),
        isHostService: (address, port) => policy.isHostService(address, port),
      },
      nonces: createNonceService({ secret: randomBytes(32), staleNonceSeconds: config.staleNonceSeconds }),
      credentials,
      counters,
      clock,
      log,
    },
    { mappedAddress: config.mappedAddress },
    unknownClientHold,
  );
  const onPacket = createDispatcher(service.dispatchTable, {
    fingerprint: config.fingerprint,
    ...(config.software !== undefined ? { software: config.software } : {}),
    maxChannelNumber,
    counters,
    ...(config.unauthorizedRatelimit ? { unauthenticatedLimit: createSourceRateLimit({ ...UNAUTHENTICATED_LIMIT, key: randomBytes(8) }) } : {}),
    clock,
    log,
  });

  function rebuildPolicy(): void {
    policy = createPeerPolicy({
      allowLoopbackPeers: policyConfig.allowLoopbackPeers,
      allowedPeerRanges: policyConfig.allowedPeerIps.map(parseIpRange),
      deniedPeerRanges: policyConfig.deniedPeerIps.map(parseIpRange),
      ownEndpoints,
      hostAddresses,
      relayPorts: { min: policyConfig.minPort, max: policyConfig.maxPort },
    });
  }

  return {
    onPacket,
    service,
    maxChannelNumber,
    setOwnEndpoints(endpoints) {
      ownEndpoints = endpoints;
      rebuildPolicy();
    },
    setHostAddresses(addresses) {
      hostAddresses = addresses;
      rebuildPolicy();
    },
    reload(next) {
      // The realm stays: every client's long-term key derives from it.
      credentials.replace(credentialStoreOf(next, config.realm), {
        restSeparator: next.restApiSeparator,
        staticUserChanged: staticUserChange(staticUsers, next.users),
      });
      staticUsers = next.users;
      const maxBpsBefore = options.maxBps;
      Object.assign(options, { ...turnOptionsOf(next), realm: options.realm });
      if (options.maxBps !== maxBpsBefore) service.reapplyMaxBps();
      ledger?.setLimits(next);
      bpsCapacity = next.bpsCapacity;
      policyConfig = next;
      rebuildPolicy();
      const dropped = service.reapplyPeerPolicy();
      log.info(
        { users: next.users.length, authSecrets: next.useAuthSecret ? next.staticAuthSecrets.length : 0, droppedPermissions: dropped.permissions, droppedChannels: dropped.channels },
        "configuration reloaded",
      );
    },
    drain() {
      options.draining = true;
    },
    revoke(username) {
      credentials.revoke(username, clock.now());
      return service.endAllocationsOf(username);
    },
    sweep() {
      service.sweep();
      credentials.prune(clock.now());
    },
    stats() {
      const { permissions, channels } = service.countPermissionsAndChannels();
      return {
        allocations: table.size,
        permissions,
        channels,
        clientMessages: counters.clientMessages,
        allocationsCreated: counters.allocationsCreated,
        allocationsExpired: counters.allocationsExpired,
        allocationsDeleted: counters.allocationsDeleted,
        relay: counters.relay,
        droppedPackets: counters.droppedPackets,
        bandwidthDroppedPackets: counters.bandwidthDroppedPackets,
        maxBps: options.maxBps,
        bindingRequests: counters.bindingRequests,
        unauthenticatedAnswersDropped: counters.unauthenticatedAnswersDropped,
        errorResponses: counters.errorResponses,
        totalQuota: effectiveTotalQuota({ totalQuota: options.totalQuota, maxBps: options.maxBps, bpsCapacity: bpsCapacity }),
        bpsCapacity,
        relayPortsFree: relays.freePorts(),
      };
    },
  };
}

function turnOptionsOf(config: Config): Omit<TurnOptions, "maxChannelNumber"> {
  return {
    realm: config.realm,
    defaultLifetimeSeconds: DEFAULT_LIFETIME_SECONDS,
    maxAllocateLifetimeSeconds: config.maxAllocateLifetimeSeconds,
    userQuota: config.userQuota,
    totalQuota: config.totalQuota,
    maxPermissionsPerAllocation: config.maxPermissionsPerAllocation,
    maxChannelsPerAllocation: config.maxChannelsPerAllocation,
    strictExpiry: config.strictExpiry,
    defaultAddressFamily: config.allocationDefaultAddressFamily === "keep" ? "keep" : config.allocationDefaultAddressFamily === "ipv6" ? "IPv6" : "IPv4",
    maxBps: config.maxBps,
  };
}

function credentialStoreOf(config: Config, realm: string) {
  return createCredentialStore({
    realm,
    staticUsers: config.users.map(parseStaticUser),
    authSecrets: config.useAuthSecret ? config.staticAuthSecrets : [],
    restSeparator: config.restApiSeparator,
  });
}
