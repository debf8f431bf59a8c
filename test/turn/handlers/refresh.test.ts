import { describe, expect, it } from "vitest";
import { getAttribute } from "../../../src/stun/attributes/registry.js";
import { Method, MessageClass } from "../../../src/stun/constants.js";
import { createTurnHarness, HarnessClient, type TurnHarness } from "../../helpers/turn-harness.js";
import { errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;

/** The harness's one allocation is still there in the sweep a second before 600 s, and gone in the one at 600 s. */
function expectSweptAt600s(h: TurnHarness): void {
  h.clock.advance(599_000);
  h.service.sweep();
  expect(h.deps.table.size).toBe(1);
  h.clock.advance(1_000);
  h.service.sweep();
  expect(h.deps.table.size).toBe(0);
}

describe("Refresh (RFC 8656 §7.3) and allocation lifetime", () => {
  it("answers 437 when the 5-tuple has no allocation", async () => {
    const h = createTurnHarness();
    expect(errorCode(await new HarnessClient(h).request(Method.Refresh))).toBe(437);
  });

  it("deletes the allocation with LIFETIME 0: relay socket closed, quota returned", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    const response = await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
    expect(getAttribute(response, "LIFETIME")).toBe(0);
    expect(h.deps.table.size).toBe(0);
    expect(h.ledger.total).toBe(0);
    expect(h.ledger.held("alice")).toBe(0);
    expect(h.relays.sockets[0]!.closed).toBe(true);
  });

  it("extends the lifetime: the sweeper keeps a refreshed allocation past its first expiry", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    h.clock.advance(500_000);
    expect(getAttribute(await client.request(Method.Refresh), "LIFETIME")).toBe(600);
    h.clock.advance(200_000); // 700 s after the Allocate, 200 s after the Refresh
    h.service.sweep();
    expect(h.deps.table.size).toBe(1);
  });

  it("shortens the lifetime: the sweeper ends the allocation at the Refresh's lifetime, not the Allocate's", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP, { name: "LIFETIME", value: 3600 }]);
    expect(getAttribute(await client.request(Method.Refresh, [{ name: "LIFETIME", value: 600 }]), "LIFETIME")).toBe(600);
    expectSweptAt600s(h);
    expect(h.ledger.held("alice")).toBe(0);
  });

  it("expires an unrefreshed allocation in the sweeper tick after its lifetime, closing its relay socket", async () => {
    const h = createTurnHarness();
    await new HarnessClient(h).request(Method.Allocate, [UDP]);
    expectSweptAt600s(h);
    expect(h.relays.sockets[0]!.closed).toBe(true);
    expect(h.log.records.some((r) => r.msg === "allocation expired")).toBe(true);
  });

  it("treats an allocation past its lifetime as gone before the sweeper has run: 437 to Refresh, a new one for Allocate", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    h.clock.advance(600_000);
    expect(errorCode(await client.request(Method.Refresh, [{ name: "LIFETIME", value: 3600 }]))).toBe(437);
    expect(h.deps.table.size).toBe(0);
    expect(h.relays.sockets[0]!.closed).toBe(true);
    expect(h.ledger.held("alice")).toBe(0);
    expect(h.deps.counters.allocationsExpired).toBe(1);
    expect(errorCode(await client.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "8.8.8.8", port: 1 } }]))).toBe(437);

    await client.request(Method.Allocate, [UDP]);
    h.clock.advance(600_000);
    const again = await client.request(Method.Allocate, [UDP]);
    expect(again.messageClass).toBe(MessageClass.SuccessResponse);
    expect(h.deps.table.size).toBe(1);
    expect(h.ledger.total).toBe(1);
    expect(h.relays.sockets.map((socket) => socket.closed)).toEqual([true, true, false]);
    h.service.sweep();
    expect(h.deps.table.size).toBe(1);
  });

  it("answers 441 when another user signs a request for the allocation (RFC 8656 §7.3)", async () => {
    const h = createTurnHarness();
    const alice = new HarnessClient(h);
    await alice.request(Method.Allocate, [UDP]);
    // Same 5-tuple (link, address, port), different user.
    const intruder = new HarnessClient(h, alice.link, alice.address, alice.port, "bob", "builder");
    expect(errorCode(await intruder.request(Method.Refresh))).toBe(441);
  });

  it("answers 438 Stale Nonce with a fresh nonce after stale-nonce seconds, and the re-signed request succeeds", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP, { name: "LIFETIME", value: 3600 }]);
    const oldNonce = client.builder.nonce;
    h.clock.advance(601_000);
    const [answer] = await client.sendRaw(client.builder.build(Method.Refresh, []));
    const { decode } = await import("../../helpers/turn-messages.js");
    const stale = decode(answer!);
    expect(errorCode(stale)).toBe(438);
    expect(getAttribute(stale, "NONCE")).not.toBe(oldNonce);
    expect((await client.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("answers 443 for a Refresh naming a family the allocation does not have", async () => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    await client.request(Method.Allocate, [UDP]);
    expect(errorCode(await client.request(Method.Refresh, [{ name: "REQUESTED-ADDRESS-FAMILY", value: 2 }]))).toBe(443);
  });
});

describe("credential expiry policy (an allocation outlives its REST credential unless strict-expiry)", () => {
  async function withRest(strictExpiry: boolean) {
    const { createCredentialStore } = await import("../../../src/credentials/credential-store.js");
    const { mintRestCredential } = await import("../../../src/credentials/rest-credentials.js");
    const h = createTurnHarness({ turn: { strictExpiry } });
    (h.deps as { credentials: unknown }).credentials = createCredentialStore({ realm: "example.org", staticUsers: [], authSecrets: ["s"] });
    const minted = mintRestCredential({ secret: "s", user: "web", ttlSeconds: 60, nowMs: h.clock.now() });
    const client = new HarnessClient(h, undefined, undefined, undefined, minted.username, minted.password);
    await client.request(Method.Allocate, [UDP]);
    h.clock.advance(120_000); // the credential expired a minute ago; the allocation has 480 s left
    return { h, client, minted };
  }

  it("by default accepts Refresh, CreatePermission and ChannelBind on the allocation with the expired credential", async () => {
    const { client } = await withRest(false);
    expect((await client.request(Method.Refresh)).messageClass).toBe(MessageClass.SuccessResponse);
    const peer = { name: "XOR-PEER-ADDRESS", value: { family: "IPv4", address: "8.8.8.8", port: 1 } } as const;
    expect((await client.request(Method.CreatePermission, [peer])).messageClass).toBe(MessageClass.SuccessResponse);
  });

  it("never accepts an expired credential for a new Allocate", async () => {
    const { h, minted } = await withRest(false);
    const other = new HarnessClient(h, undefined, "198.51.100.99", 41000, minted.username, minted.password);
    expect(errorCode(await other.request(Method.Allocate, [UDP]))).toBe(401);
  });

  it("with strict-expiry refuses Refresh with the expired credential (401), so the allocation ends with its lifetime", async () => {
    const { h, client } = await withRest(true);
    expect(errorCode(await client.request(Method.Refresh))).toBe(401);
    h.clock.advance(480_000);
    h.service.sweep();
    expect(h.deps.table.size).toBe(0);
  });
});
