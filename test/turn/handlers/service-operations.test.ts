import { describe, expect, it } from "vitest";
import { Method } from "../../../src/stun/constants.js";
import { decodeMessage } from "../../../src/stun/message.js";
import { StunError } from "../../../src/turn/stun-error.js";
import { FakeLink } from "../../helpers/fakes.js";
import { createTurnHarness, HarnessClient } from "../../helpers/turn-harness.js";
import { channelData, decode, errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const PEER = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "8.8.8.8", port: 5000 } } as const;

describe("an unsigned request to each TURN method", () => {
  it("gets its 401 challenge returned by the handler, not thrown: the dispatcher answers it", () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    for (const method of [Method.Allocate, Method.Refresh, Method.CreatePermission, Method.ChannelBind]) {
      const message = decodeMessage(client.builder.build(method, method === Method.Allocate ? [UDP] : []));
      const ctx = { message, link: client.link, clientAddress: { family: client.link.family, address: client.address, port: client.port } };
      let answer: unknown;
      expect(() => (answer = h.service.dispatchTable.requests.get(method)!(ctx))).not.toThrow();
      expect(answer).toBeInstanceOf(StunError);
      expect((answer as StunError).code).toBe(401);
      expect((answer as StunError).attributes.map((a) => a.name)).toEqual(["REALM", "NONCE", "PASSWORD-ALGORITHMS"]);
      expect(ctx).not.toHaveProperty("integrity");
    }
  });
});

describe("counters kept for metrics (plain integers, read on scrape)", () => {
  it("counts allocations created, deleted and expired, Binding requests, error responses by code, and traffic per transport", async () => {
    const h = createTurnHarness();
    const udp = new HarnessClient(h);
    const tcp = new HarnessClient(h, new FakeLink("tcp"), "198.51.100.9", 41000);
    await udp.request(Method.Binding);
    await udp.request(Method.Allocate, [UDP]); // 401, then success
    await tcp.request(Method.Allocate, [UDP]);
    await udp.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, PEER]);
    await udp.sendRaw(channelData(0x4000, Buffer.from("12345")));
    h.relays.sockets[0]!.receive(Buffer.from("abc"), "8.8.8.8", 5000);
    await udp.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
    h.clock.advance(600_000);
    h.service.sweep();

    const c = h.deps.counters;
    expect(c.bindingRequests).toBe(1);
    expect(c.allocationsCreated).toBe(2);
    expect(c.allocationsDeleted).toBe(1);
    expect(c.allocationsExpired).toBe(1);
    expect(c.errorResponses[401]).toBe(2);
    expect(c.relay.udp).toEqual({ clientToPeerPackets: 1, clientToPeerBytes: 5, peerToClientPackets: 1, peerToClientBytes: 3 });
    expect(c.relay.tcp.clientToPeerPackets).toBe(0);
  });
});

describe("ending allocations of a revoked user", () => {
  it("ends every allocation of the user, closes their relay sockets, and leaves others alone", async () => {
    const h = createTurnHarness();
    const alice1 = new HarnessClient(h, undefined, undefined, 40001);
    const alice2 = new HarnessClient(h, new FakeLink("tcp"), undefined, 40002);
    const bob = new HarnessClient(h, undefined, undefined, 40003, "bob", "builder");
    for (const client of [alice1, alice2, bob]) await client.request(Method.Allocate, [UDP]);
    expect(h.service.endAllocationsOf("alice")).toBe(2);
    expect(h.deps.table.size).toBe(1);
    expect(alice2.link.carriesAllocation).toBe(false);
    expect(h.relays.sockets.filter((s) => s.closed)).toHaveLength(2);
    expect(errorCode(await alice1.request(Method.Refresh))).toBe(437);
  });
});

describe("re-applying a changed peer policy", () => {
  it("drops permissions and channels to peers the new policy denies, keeps the rest", async () => {
    let denyGoogle = false;
    const h = createTurnHarness();
    const base = h.deps.peerPolicy;
    (h.deps as { peerPolicy: typeof base }).peerPolicy = {
      isPeerAllowed: (a, p) => !(denyGoogle && a === "8.8.8.8") && base.isPeerAllowed(a, p),
      isPeerAddressAllowed: (a) => !(denyGoogle && a === "8.8.8.8") && base.isPeerAddressAllowed(a),
      isPermittedPeerPortAllowed: (a, p) => base.isPermittedPeerPortAllowed(a, p),
      isHostService: (a, p) => base.isHostService(a, p),
    };
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, PEER]);
    await client.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "1.1.1.1", port: 1 } }]);
    denyGoogle = true;
    expect(h.service.reapplyPeerPolicy()).toEqual({ permissions: 1, channels: 1 });
    await client.sendRaw(channelData(0x4000, Buffer.from("x")));
    expect(h.relays.sockets[0]!.sent).toEqual([]);
    expect(h.service.countPermissionsAndChannels()).toEqual({ permissions: 1, channels: 0 });
  });
});

describe("re-applying a changed max-bps", () => {
  it("puts the new limit on live allocations: lifted at 0, set where there was none, changed where there was one", async () => {
    const h = createTurnHarness({ turn: { maxBps: 1000 } });
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, PEER]);
    const relayed = async (count: number, bytes: number): Promise<number> => {
      const before = h.relays.sockets[0]!.sent.length;
      for (let i = 0; i < count; i++) await client.sendRaw(channelData(0x4000, Buffer.alloc(bytes)));
      return h.relays.sockets[0]!.sent.length - before;
    };
    // A full bucket holds a second's worth, 1,000 bytes, and the harness's clock stands still: two pass.
    expect(await relayed(10, 400)).toBe(2);
    const options = h.deps.options as { maxBps: number };
    options.maxBps = 0;
    h.service.reapplyMaxBps();
    expect(await relayed(10, 400)).toBe(10);
    options.maxBps = 4000;
    h.service.reapplyMaxBps();
    expect(await relayed(20, 400)).toBe(10);
    options.maxBps = 400;
    h.service.reapplyMaxBps();
    expect(await relayed(10, 400)).toBe(1);
  });
});

describe("a source port of 0 (spoofed: nothing can be sent back to it)", () => {
  it("gets no answer and relays nothing, where the same bytes from a real port are answered", async () => {
    const h = createTurnHarness();
    const spoofed = new HarnessClient(h, new FakeLink(), "198.51.100.7", 0);
    const binding = spoofed.builder.build(Method.Binding, []);
    expect(await spoofed.sendRaw(binding)).toEqual([]);
    expect(h.deps.counters.bindingRequests).toBe(0);
    expect(await new HarnessClient(h).sendRaw(binding)).toHaveLength(1);
  });
});

describe("while relay threads regroup (setRegrouping)", () => {
  const LIFETIME = { name: "LIFETIME", value: 600 } as const;
  const CHANNEL = { name: "CHANNEL-NUMBER", value: 0x4001 } as const;

  it("leaves the TURN requests of UDP clients without an allocation here unanswered, and answers everyone else", async () => {
    const h = createTurnHarness();
    const known = new HarnessClient(h);
    const allocated = await known.request(Method.Allocate, [UDP]);
    // A UDP client that has a nonce but no allocation on this thread (its allocation is on another).
    const stranger = new HarnessClient(h, undefined, "198.51.100.8", 40001);
    expect(errorCode(await stranger.request(Method.Refresh, [LIFETIME]))).toBe(437);
    const tcp = new HarnessClient(h, new FakeLink("tcp"), "198.51.100.9", 41000);

    h.service.setRegrouping(true);
    for (const [method, attributes] of [
      [Method.Allocate, [UDP]],
      [Method.Refresh, [LIFETIME]],
      [Method.CreatePermission, [PEER]],
      [Method.ChannelBind, [CHANNEL, PEER]],
    ] as const) {
      expect(await stranger.sendRaw(stranger.builder.build(method, attributes))).toEqual([]);
    }
    // Unsigned too: the first Allocate of a client new to the server.
    const newcomer = new HarnessClient(h, undefined, "198.51.100.10", 40002);
    expect(await newcomer.sendRaw(newcomer.builder.build(Method.Allocate, [UDP]))).toEqual([]);
    expect(h.deps.table.size).toBe(1);
    // The client this thread holds an allocation for, a Binding request, and a TCP client are answered;
    // its Allocate sent again is answered as ever: the same success, or 437 for a new transaction.
    const [again] = await known.sendRaw(known.builder.build(Method.Allocate, [UDP], { transactionId: Buffer.from(allocated.transactionId) }));
    expect(again!.equals(allocated.raw)).toBe(true);
    expect(errorCode(await known.request(Method.Allocate, [UDP]))).toBe(437);
    expect(errorCode(await known.request(Method.Refresh, [LIFETIME]))).toBeUndefined();
    expect(errorCode(await known.request(Method.CreatePermission, [PEER]))).toBeUndefined();
    expect(errorCode(await known.request(Method.ChannelBind, [CHANNEL, PEER]))).toBeUndefined();
    expect(errorCode(await stranger.request(Method.Binding))).toBeUndefined();
    expect(errorCode(await tcp.request(Method.Allocate, [UDP]))).toBeUndefined();

    expect(h.service.setRegrouping(false)).toBe(5);
    expect(errorCode(await stranger.request(Method.Refresh, [LIFETIME]))).toBe(437);
    expect(errorCode(await newcomer.request(Method.Allocate, [UDP]))).toBeUndefined();
    expect(h.deps.table.size).toBe(3);
    expect(h.service.setRegrouping(false)).toBe(0);
  });
});

describe("with several relay threads, before a thread's death is heard of (UnknownClientHold)", () => {
  const LIFETIME = { name: "LIFETIME", value: 600 } as const;
  const CHANNEL = { name: "CHANNEL-NUMBER", value: 0x4001 } as const;
  const HOLD_MS = 100;

  function heldHarness() {
    const releases: (() => void)[] = [];
    const h = createTurnHarness({
      hold: {
        ms: HOLD_MS,
        wait: (ms) => {
          expect(ms).toBe(HOLD_MS);
          return new Promise((resolve) => releases.push(() => resolve()));
        },
      },
    });
    /** A UDP client with a nonce (from an unsigned Allocate's 401) and no allocation on this thread. */
    const stranger = async (port: number, address = "198.51.100.8"): Promise<HarnessClient> => {
      const client = new HarnessClient(h, undefined, address, port);
      await client.learnNonce();
      return client;
    };
    const releaseAll = (): void => releases.splice(0).forEach((release) => release());
    return { h, releases, stranger, releaseAll };
  }

  it("holds a Refresh, CreatePermission or ChannelBind from a UDP client with no allocation here before its 437; nobody else waits", async () => {
    const { h, releases, stranger, releaseAll } = heldHarness();
    const known = new HarnessClient(h);
    await known.request(Method.Allocate, [UDP]);
    const client = await stranger(40001);
    expect(releases).toHaveLength(0);

    for (const [method, attributes] of [
      [Method.Refresh, [LIFETIME]],
      [Method.CreatePermission, [PEER]],
      [Method.ChannelBind, [CHANNEL, PEER]],
    ] as const) {
      expect(await client.sendRaw(client.builder.build(method, attributes))).toEqual([]);
      expect(releases).toHaveLength(1);
      releaseAll();
      expect((await client.received()).map((answer) => errorCode(decode(answer)))).toEqual([437]);
    }

    // The client with an allocation here, a TCP client, a Binding request and an Allocate are answered at once.
    expect(errorCode(await known.request(Method.Refresh, [LIFETIME]))).toBeUndefined();
    expect(errorCode(await known.request(Method.ChannelBind, [CHANNEL, PEER]))).toBeUndefined();
    const tcp = new HarnessClient(h, new FakeLink("tcp"), "198.51.100.9", 41000);
    expect(errorCode(await tcp.request(Method.Refresh, [LIFETIME]))).toBe(437);
    expect(errorCode(await client.request(Method.Binding))).toBeUndefined();
    // Nor does a request that does not authenticate: unsigned, or signed with a wrong password.
    const unsigned = new HarnessClient(h, undefined, "198.51.100.20", 40009);
    expect((await unsigned.sendRaw(unsigned.builder.build(Method.Refresh, [LIFETIME]))).map((answer) => errorCode(decode(answer)))).toEqual([401]);
    const impostor = new HarnessClient(h, undefined, "198.51.100.21", 40010, "alice", "not-her-password");
    await impostor.learnNonce();
    expect((await impostor.sendRaw(impostor.builder.build(Method.Refresh, [LIFETIME]))).map((answer) => errorCode(decode(answer)))).toEqual([401]);
    expect(errorCode(await client.request(Method.Allocate, [UDP]))).toBeUndefined();
    expect(releases).toHaveLength(0);
  });

  it("leaves a held request unanswered when regrouping began meanwhile, and holds nothing while regrouping", async () => {
    const { h, releases, stranger, releaseAll } = heldHarness();
    const client = await stranger(40002);
    expect(await client.sendRaw(client.builder.build(Method.Refresh, [LIFETIME]))).toEqual([]);
    h.service.setRegrouping(true);
    releaseAll();
    expect(await client.received()).toEqual([]);
    // Regrouping already known: dropped at once, no wait.
    expect(await client.sendRaw(client.builder.build(Method.Refresh, [LIFETIME]))).toEqual([]);
    expect(releases).toHaveLength(0);
    expect(h.service.setRegrouping(false)).toBe(2);
    // Regrouping over: held again, then 437.
    expect(await client.sendRaw(client.builder.build(Method.Refresh, [LIFETIME]))).toEqual([]);
    releaseAll();
    expect((await client.received()).map((answer) => errorCode(decode(answer)))).toEqual([437]);
  });

  it("holds at most 256 requests at once: past that, a request is handled at once", async () => {
    const { h, releases, stranger, releaseAll } = heldHarness();
    const refresh = (client: HarnessClient): void => h.handle(client.builder.build(Method.Refresh, [LIFETIME]), client.address, client.port, client.link);
    const codes = async (client: HarnessClient): Promise<(number | undefined)[]> => (await client.received()).map((answer) => errorCode(decode(answer)));
    const client = await stranger(40003);
    for (let i = 0; i < 256; i++) refresh(client);
    expect(await client.received()).toEqual([]);
    expect(releases).toHaveLength(256);
    const latecomer = await stranger(40004, "198.51.102.1");
    refresh(latecomer);
    expect(await codes(latecomer)).toEqual([437]);
    releaseAll();
    expect(await codes(client)).toEqual(Array.from({ length: 256 }, () => 437));
    // Released, they no longer count: the next is held again.
    refresh(latecomer);
    expect(await latecomer.received()).toEqual([]);
    expect(releases).toHaveLength(1);
  });
});
