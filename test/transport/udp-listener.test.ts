import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UdpListener } from "../../src/transport/udp-listener.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { ManualClock } from "../helpers/manual-clock.js";

const REQUESTED = 2 * 1024 * 1024;

function kernelCap(name: "rmem_max" | "rmem_default"): number {
  return Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8").trim());
}

/** A client socket on loopback and the datagrams it has received, as text. */
async function bindClient(): Promise<{ client: dgram.Socket; port: number; received: string[] }> {
  const client = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  const received: string[] = [];
  client.on("message", (bytes) => received.push(bytes.toString()));
  return { client, port: client.address().port, received };
}

describe("UdpListener", () => {
  it("asks for a 2 MiB receive buffer: bursts from every client queue on this one socket", async () => {
    const listener = await UdpListener.open({
      address: "127.0.0.1",
      port: 0,
      family: "IPv4",
      onPacket: () => {},
      clock: Date,
      log: createRecordingLogger(),
    });
    try {
      // Linux doubles what it grants (for its own bookkeeping) and caps the request at rmem_max.
      const granted = 2 * Math.min(REQUESTED, kernelCap("rmem_max"));
      expect(listener.receiveBufferBytes).toBe(granted);
      expect(listener.receiveBufferBytes).toBeGreaterThanOrEqual(2 * kernelCap("rmem_default"));
    } finally {
      await listener.close();
    }
  });

  it("holds STUN answers (send) to the end of the turn; relayed data (sendParts) goes at once", async () => {
    const listener = await UdpListener.open({ address: "127.0.0.1", port: 0, family: "IPv4", onPacket: () => {}, clock: Date, log: createRecordingLogger() });
    const { client, port, received } = await bindClient();
    try {
      listener.link.send(Buffer.from("answer"), "127.0.0.1", port);
      listener.link.sendParts(Buffer.from("head|"), Buffer.from("data"), undefined, "127.0.0.1", port);
      const deadline = Date.now() + 2000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(received).toEqual(["head|data", "answer"]);
    } finally {
      client.close();
      await listener.close();
    }
  });

  it("leaves its port's group and joins it again with the same link: packets still arrive, answers and data still leave", async () => {
    const packets: string[] = [];
    const options = { address: "127.0.0.1", family: "IPv4", reusePort: true, clock: Date, log: createRecordingLogger() } as const;
    const listener = await UdpListener.open({ ...options, port: 0, onPacket: (bytes) => packets.push(bytes.toString()) });
    // Another member of the group: it gets what the listener does not while the listener is out.
    const otherPackets: string[] = [];
    const other = await UdpListener.open({ ...options, port: listener.link.localPort, onPacket: (bytes) => otherPackets.push(bytes.toString()) });
    const { client, port, received } = await bindClient();
    const waitFor = async (done: () => boolean): Promise<void> => {
      for (const deadline = Date.now() + 2000; !done() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    try {
      const link = listener.link;
      link.send(Buffer.from("held when it leaves"), "127.0.0.1", port);
      listener.leaveGroup();
      link.send(Buffer.from("dropped: answer"), "127.0.0.1", port);
      link.sendParts(Buffer.from("dropped|"), Buffer.from("data"), undefined, "127.0.0.1", port);
      client.send("while out", link.localPort, "127.0.0.1");
      await waitFor(() => otherPackets.length === 1);
      expect(otherPackets).toEqual(["while out"]);

      await listener.joinGroup();
      expect(listener.link).toBe(link);
      link.send(Buffer.from("answer"), "127.0.0.1", port);
      link.sendParts(Buffer.from("head|"), Buffer.from("data"), undefined, "127.0.0.1", port);
      await other.close(); // the listener alone in the group: the client's next datagram is its
      client.send("request", link.localPort, "127.0.0.1");
      await waitFor(() => received.length >= 3 && packets.length >= 1);
      expect(received).toEqual(["held when it leaves", "head|data", "answer"]);
      expect(packets).toEqual(["request"]);
    } finally {
      client.close();
      await listener.close();
      await other.close();
    }
  });

  it("logs answers it could not send within a budget timed by the clock it is given", async () => {
    const clock = new ManualClock();
    const log = createRecordingLogger();
    const listener = await UdpListener.open({ address: "127.0.0.1", port: 0, family: "IPv4", onPacket: () => {}, clock, log });
    const notSent = () => log.records.filter((r) => r.msg === "udp answer not sent").length;
    const flushed = () => new Promise((resolve) => setImmediate(resolve));
    try {
      // Port 0 makes dgram throw at the send, at the end of the turn.
      for (let i = 0; i < 25; i++) listener.link.send(Buffer.from("answer"), "127.0.0.1", 0);
      await flushed();
      expect(notSent()).toBe(20);
      expect(log.records.filter((r) => r.msg === "log lines suppressed")).toEqual([]);
      clock.advance(59_000);
      listener.link.send(Buffer.from("answer"), "127.0.0.1", 0);
      await flushed();
      expect(notSent()).toBe(20);
      // A minute on the given clock, not the wall clock, opens the next interval.
      clock.advance(1_000);
      listener.link.send(Buffer.from("answer"), "127.0.0.1", 0);
      await flushed();
      expect(notSent()).toBe(21);
      expect(log.records.filter((r) => r.msg === "log lines suppressed").map((r) => r.obj)).toMatchObject([{ message: "udp answer not sent", suppressed: 6 }]);
    } finally {
      await listener.close();
    }
  });
});
