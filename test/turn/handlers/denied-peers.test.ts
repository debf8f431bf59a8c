import { describe, expect, it } from "vitest";
import { Method } from "../../../src/stun/constants.js";
import { formatIpValue } from "../../../src/turn/ip-range.js";
import { DEFAULT_DENIED_RANGES } from "../../../src/turn/peer-policy.js";
import { createTurnHarness, HarnessClient } from "../../helpers/turn-harness.js";
import { channelData, errorCode } from "../../helpers/turn-messages.js";

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;

// One address inside each default-denied class (the second address where the range has one).
const CLASSES = DEFAULT_DENIED_RANGES.map(({ range, reason }) => {
  const value = range.last > range.first ? range.first + 1n : range.first;
  return { address: formatIpValue(range.family, value), family: range.family, reason };
});

describe("default-denied peers are unreachable on every path (RFC 8656 §21.3)", () => {
  it.each(CLASSES)("$address ($reason): CreatePermission and ChannelBind get 403; Send, ChannelData and inbound traffic never flow", async ({ address, family }) => {
    const h = createTurnHarness();
    const client = new HarnessClient(h);
    const familyAttr = family === "IPv6" ? [{ name: "ADDITIONAL-ADDRESS-FAMILY" as const, value: 2 }] : [];
    await client.request(Method.Allocate, [UDP, ...familyAttr]);
    const peer = { name: "XOR-PEER-ADDRESS" as const, value: { family, address, port: 5000 } };

    expect(errorCode(await client.request(Method.CreatePermission, [peer]))).toBe(403);
    expect(errorCode(await client.request(Method.ChannelBind, [{ name: "CHANNEL-NUMBER", value: 0x4000 }, peer]))).toBe(403);

    await client.sendRaw(client.builder.indication(Method.Send, [peer, { name: "DATA", value: Buffer.from("send") }]));
    await client.sendRaw(channelData(0x4000, Buffer.from("channel")));
    for (const relay of h.relays.sockets) {
      expect(relay.sent).toEqual([]);
      relay.receive(Buffer.from("inbound"), address, 5000);
    }
    expect(client.link.take()).toEqual([]);
  });

  it("covers every class in the policy's table", () => {
    expect(CLASSES.length).toBe(DEFAULT_DENIED_RANGES.length);
    expect(CLASSES.length).toBeGreaterThanOrEqual(30);
  });
});
