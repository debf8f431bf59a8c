import dgram from "node:dgram";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MessageClass, Method } from "../../src/stun/constants.js";
import { encodeMessage } from "../../src/stun/message.js";
import { DATAGRAM_SENDER, RECEIVED_DATAGRAM, UdpListener } from "../../src/transport/udp-listener.js";
import type { Allocation } from "../../src/turn/allocation.js";
import { addAllocation, createAllocationTable, removeAllocation, REMOVED_ALLOCATION } from "../../src/turn/allocation-table.js";
import { createDispatcher, type RequestContext } from "../../src/turn/dispatch.js";
import type { RelaySocket } from "../../src/turn/ports.js";
import { forgetShapes, keepShape, keptShape } from "../../src/turn/shape-keeper.js";
import { CredentialRejected, StunError } from "../../src/turn/stun-error.js";
import { FakeLink } from "../helpers/fakes.js";
import { createRecordingLogger } from "../helpers/logger.js";

// Module state: vitest gives each test file modules of its own, and each test here forgets the kinds
// it looks at first. Nothing here can show the point of it all (V8 keeping its optimized code across
// a collection); --trace-deopt does, see shape-keeper.ts.

afterEach(() => {
  vi.useRealTimers();
});

describe("shape keeper: one object of each short-lived kind outlives the rest", () => {
  it("keeps the first object of a kind and ignores the later ones, until the kind is forgotten", () => {
    const first = { a: 1 };
    expect(keepShape("test kind", first)).toBe(true);
    expect(keepShape("test kind", { a: 2 })).toBe(false);
    expect(keptShape("test kind")).toBe(first);
    forgetShapes(["test kind"]);
    expect(keptShape("test kind")).toBeUndefined();
  });

  it("keeps an error of each kind that answers requests, and an Immediate that holds no other, from the start", () => {
    expect(keptShape("StunError")).toBeInstanceOf(StunError);
    expect(keptShape("CredentialRejected")).toBeInstanceOf(CredentialRejected);
    // Cleared, it links to no other Immediate and runs nothing: the fields one that ran has.
    const immediate = keptShape("Immediate") as NodeJS.Immediate & { _idleNext: unknown; _idlePrev: unknown; _destroyed: boolean };
    expect(typeof immediate.hasRef).toBe("function");
    expect(immediate._destroyed).toBe(true);
    expect(immediate._idleNext).toBeNull();
    expect(immediate._idlePrev).toBeNull();
  });

  it("keeps the first allocation removed from the table, which is removed as before", () => {
    forgetShapes([REMOVED_ALLOCATION]);
    const removed: Allocation[] = [];
    const table = createAllocationTable((allocation) => removed.push(allocation));
    let closes = 0;
    const relay = { family: "IPv4", address: "192.0.2.10", port: 50000, close: () => closes++ } as unknown as RelaySocket;
    const allocation: Allocation = {
      fiveTuple: { link: new FakeLink(), clientAddress: "198.51.100.7", clientPort: 40000 },
      username: "alice",
      relays: [relay],
      expiresAtMs: 600_000,
      permissions: new Map(),
      channel: undefined,
      channelsByNumber: undefined,
      channelsByPeer: undefined,
      bandwidth: undefined,
      allocateAnswer: { transactionIdHex: "00", lifetimeSeconds: 600 },
    };
    addAllocation(table, allocation);
    expect(keptShape(REMOVED_ALLOCATION)).toBeUndefined();
    removeAllocation(table, allocation);
    expect(keptShape(REMOVED_ALLOCATION)).toBe(allocation);
    expect(table.size).toBe(0);
    expect(closes).toBe(1);
    expect(removed).toEqual([allocation]);
  });

  it("keeps the first datagram a UDP listener receives and who sent it, and wipes both a minute later", async () => {
    forgetShapes([RECEIVED_DATAGRAM, DATAGRAM_SENDER]);
    const received: Buffer[] = [];
    const listener = await UdpListener.open({
      address: "127.0.0.1",
      port: 0,
      family: "IPv4",
      onPacket: (bytes) => received.push(bytes),
      clock: Date,
      log: createRecordingLogger(),
    });
    const client = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      for (const text of ["first", "second"]) client.send(Buffer.from(text), listener.link.localPort, "127.0.0.1");
      for (let turn = 0; turn < 2_000 && received.length < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(received.map(String)).toEqual(["first", "second"]);
      expect(keptShape(RECEIVED_DATAGRAM)).toBe(received[0]);
      const sender = keptShape(DATAGRAM_SENDER) as { address: string; port: number; family: string };
      expect(sender).toMatchObject({ address: "127.0.0.1", family: "IPv4", port: client.address().port });

      vi.advanceTimersByTime(59_000);
      expect(received[0]!.toString()).toBe("first");
      vi.advanceTimersByTime(1_000);
      expect([...received[0]!]).toEqual([0, 0, 0, 0, 0]);
      expect(sender).toMatchObject({ address: "", port: 0, family: "IPv4" });
      expect(received[1]!.toString()).toBe("second");
    } finally {
      vi.useRealTimers();
      client.close();
      await listener.close();
    }
  });

  it("gives a request's context its integrity from the start, so signing it changes no hidden class", () => {
    const contexts: RequestContext[] = [];
    const handle = createDispatcher(
      {
        requests: new Map([
          [
            Method.Refresh,
            (ctx: RequestContext) => {
              contexts.push(ctx);
              return null;
            },
          ],
        ]),
        indications: new Map(),
      },
      { fingerprint: false, maxChannelNumber: 0x4fff, log: createRecordingLogger() },
    );
    const request = encodeMessage({ method: Method.Refresh, messageClass: MessageClass.Request, transactionId: Buffer.alloc(12, 1), attributes: [] });
    handle(request, "198.51.100.7", 40000, new FakeLink());
    expect(contexts).toHaveLength(1);
    expect(Object.keys(contexts[0]!)).toEqual(["message", "link", "clientAddress", "integrity"]);
    expect(contexts[0]!.integrity).toBeUndefined();
  });
});
