import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import { MessageClass, Method } from "../../src/stun/constants.js";
import { encodeMessage } from "../../src/stun/message.js";
import { UdpListener } from "../../src/transport/udp-listener.js";
import type { Allocation } from "../../src/turn/allocation.js";
import { addAllocation, createAllocationTable, removeAllocation } from "../../src/turn/allocation-table.js";
import { createDispatcher, type RequestContext } from "../../src/turn/dispatch.js";
import type { RelaySocket } from "../../src/turn/ports.js";
import { keepShape, keptShape } from "../../src/turn/shape-keeper.js";
import { CredentialRejected, StunError } from "../../src/turn/stun-error.js";
import { FakeLink } from "../helpers/fakes.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { until } from "../helpers/until.js";

// Module state: this file's tests see one keeper (vitest gives each file modules of its own), so
// each kind is looked at before anything here could have kept one.

describe("shape keeper: one object of each short-lived kind outlives the rest", () => {
  it("keeps the first object of a kind and ignores the later ones", () => {
    const first = { a: 1 };
    keepShape("test kind", first);
    keepShape("test kind", { a: 2 });
    expect(keptShape("test kind")).toBe(first);
  });

  it("keeps an error of each kind that answers requests, from the start", () => {
    expect(keptShape("StunError")).toBeInstanceOf(StunError);
    expect(keptShape("CredentialRejected")).toBeInstanceOf(CredentialRejected);
  });

  it("keeps the first allocation removed from the table, with its relay sockets, permissions and channels", () => {
    expect(keptShape("allocation")).toBeUndefined();
    const table = createAllocationTable();
    const relay = { family: "IPv4", address: "192.0.2.10", port: 50000, close() {} } as unknown as RelaySocket;
    const allocation: Allocation = {
      fiveTuple: { link: new FakeLink(), clientAddress: "198.51.100.7", clientPort: 40000 },
      username: "alice",
      relays: [relay],
      expiresAtMs: 600_000,
      permissions: new Map(),
      channelsByNumber: undefined,
      channelsByPeer: undefined,
      bandwidth: undefined,
      allocateAnswer: { transactionIdHex: "00", lifetimeSeconds: 600 },
    };
    addAllocation(table, allocation);
    expect(keptShape("allocation")).toBeUndefined();
    removeAllocation(table, allocation);
    expect(keptShape("allocation")).toBe(allocation);
    expect(table.size).toBe(0);
  });

  it("keeps the first datagram a UDP listener receives, who sent it, and the Immediate that sends its answers", async () => {
    expect(keptShape("received datagram")).toBeUndefined();
    const received: Buffer[] = [];
    const listener = await UdpListener.open({
      address: "127.0.0.1",
      port: 0,
      family: "IPv4",
      onPacket: (bytes) => received.push(bytes),
      log: createRecordingLogger(),
    });
    const client = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
    try {
      for (const text of ["first", "second"]) client.send(Buffer.from(text), listener.link.localPort, "127.0.0.1");
      expect(await until(() => received.length === 2, 2_000)).toBe(true);
      expect(keptShape("received datagram")).toBe(received[0]);
      expect(keptShape("datagram sender")).toMatchObject({ address: "127.0.0.1", family: "IPv4" });
      expect(keptShape("Immediate")).toBeUndefined();
      listener.link.send(Buffer.from("answer"), "127.0.0.1", client.address().port);
      expect(keptShape("Immediate")).toBeDefined();
    } finally {
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
