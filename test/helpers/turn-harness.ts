import { createCredentialStore } from "../../src/credentials/credential-store.js";
import { parseStaticUser } from "../../src/credentials/static-users.js";
import type { AttributeEntry } from "../../src/stun/attributes/registry.js";
import { Method } from "../../src/stun/constants.js";
import type { StunMessage } from "../../src/stun/message.js";
import { createAllocationTable } from "../../src/turn/allocation-table.js";
import { createDispatcher } from "../../src/turn/dispatch.js";
import { createTurnService, type UnknownClientHold } from "../../src/turn/handlers/turn-handlers.js";
import type { TurnDeps, TurnOptions } from "../../src/turn/handlers/turn-deps.js";
import { createNonceService } from "../../src/turn/nonce.js";
import { parseIpRange } from "../../src/turn/ip-range.js";
import { createPeerPolicy, type PeerPolicyOptions } from "../../src/turn/peer-policy.js";
import { createTurnCounters } from "../../src/turn/counters.js";
import type { AllocationQuota } from "../../src/turn/ports.js";
import { createLocalQuota, createQuotaLedger } from "../../src/turn/quota.js";
import type { SourceRateLimit } from "../../src/turn/source-rate-limit.js";
import { FakeLink, FakeRelayAllocator } from "./fakes.js";
import { createRecordingLogger } from "./logger.js";
import { ManualClock } from "./manual-clock.js";
import { decode, errorCode as errorCodeOf, TurnRequestBuilder } from "./turn-messages.js";

export const REALM = "example.org";

export interface HarnessOptions {
  readonly turn?: Partial<TurnOptions>;
  readonly policy?: Partial<PeerPolicyOptions>;
  readonly relays?: FakeRelayAllocator;
  readonly hold?: UnknownClientHold;
  /** The recorded logger's level from the start (trace by default). */
  readonly logLevel?: string;
  /** unauthorized-ratelimit, as the server passes it to the dispatcher; off by default. */
  readonly unauthenticatedLimit?: SourceRateLimit;
}

/** The TURN service wired to fakes: a manual clock, recorded logs, relay sockets without I/O. */
export function createTurnHarness(options: HarnessOptions = {}) {
  const clock = new ManualClock();
  const log = createRecordingLogger();
  if (options.logLevel !== undefined) log.level = options.logLevel;
  const relays = options.relays ?? new FakeRelayAllocator(undefined, clock);
  const turnOptions = {
    realm: REALM,
    defaultLifetimeSeconds: 600,
    maxAllocateLifetimeSeconds: 3600,
    userQuota: 10,
    totalQuota: 100,
    maxPermissionsPerAllocation: 20,
    maxChannelsPerAllocation: 20,
    maxChannelNumber: 0x4fff,
    strictExpiry: false,
    defaultAddressFamily: "IPv4" as const,
    maxBps: 0,
    ...options.turn,
  };
  const ledger = createQuotaLedger(turnOptions);
  const quota: AllocationQuota = createLocalQuota(ledger);
  const deps: TurnDeps = {
    options: turnOptions,
    table: createAllocationTable((allocation) => quota.release(allocation.username)),
    relays,
    quota,
    peerPolicy: createPeerPolicy({
      allowLoopbackPeers: false,
      allowedPeerRanges: [],
      deniedPeerRanges: [parseIpRange("93.184.216.0/24")],
      ownEndpoints: [{ address: "192.0.2.10", port: 3478 }],
      ...options.policy,
    }),
    nonces: createNonceService({ secret: Buffer.alloc(32, 7) }),
    credentials: createCredentialStore({
      realm: REALM,
      staticUsers: [parseStaticUser("alice:wonderland"), parseStaticUser("bob:builder")],
      authSecrets: [],
    }),
    counters: createTurnCounters(),
    clock,
    log,
  };
  const service = createTurnService(deps, { mappedAddress: false }, options.hold);
  const handle = createDispatcher(service.dispatchTable, {
    fingerprint: false,
    maxChannelNumber: deps.options.maxChannelNumber,
    counters: deps.counters,
    ...(options.unauthenticatedLimit ? { unauthenticatedLimit: options.unauthenticatedLimit } : {}),
    log,
    clock,
  });
  return { clock, log, relays, deps, service, handle, ledger };
}

export type TurnHarness = ReturnType<typeof createTurnHarness>;

/** One client 5-tuple talking to the harness. */
export class HarnessClient {
  readonly builder: TurnRequestBuilder;

  constructor(
    private readonly harness: TurnHarness,
    readonly link: FakeLink = new FakeLink(),
    readonly address = "198.51.100.7",
    readonly port = 40000,
    username = "alice",
    password = "wonderland",
  ) {
    this.builder = new TurnRequestBuilder({ username, password, realm: REALM });
  }

  /** Sends raw bytes and returns every datagram the server sent back, after async handlers settle. */
  async sendRaw(bytes: Buffer): Promise<Buffer[]> {
    this.harness.handle(bytes, this.address, this.port, this.link);
    return this.received();
  }

  /** Every datagram the server sent on this client's link since the last look, after async handlers settle. */
  async received(): Promise<Buffer[]> {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    return this.link.take().map((d) => d.data);
  }

  /** Sends an unsigned Allocate and learns REALM and NONCE from its 401, as a client's first request does. */
  async learnNonce(): Promise<void> {
    const [challenge] = await this.sendRaw(this.builder.build(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]));
    if (!challenge) throw new Error("no challenge");
    this.builder.learn(decode(challenge));
  }

  /** A request, signed once a nonce is known; a 401 or 438 is answered by signing again with the new nonce. */
  async request(method: number, attributes: readonly AttributeEntry[] = [], transactionId?: Buffer): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const request = this.builder.build(method, attributes, transactionId ? { transactionId } : {});
      const answers = await this.sendRaw(request);
      // Relayed data may be waiting on the link too: the response is the STUN message with our transaction id.
      const answer = answers.find((a) => a[0]! < 0x40 && a.length >= 20 && a.subarray(8, 20).equals(request.subarray(8, 20)));
      if (!answer) throw new Error("no response");
      const response = decode(answer);
      const code = response.messageClass === 3 ? errorCodeOf(response) : undefined;
      if ((code === 401 && this.builder.nonce === undefined) || code === 438) {
        this.builder.learn(response);
        continue;
      }
      return response;
    }
    throw new Error("authentication did not converge");
  }
}
