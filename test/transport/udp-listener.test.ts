import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UdpListener } from "../../src/transport/udp-listener.js";
import { createRecordingLogger } from "../helpers/logger.js";

const REQUESTED = 2 * 1024 * 1024;

function kernelCap(name: "rmem_max" | "rmem_default"): number {
  return Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8").trim());
}

describe("UdpListener", () => {
  it("asks for a 2 MiB receive buffer: bursts from every client queue on this one socket", async () => {
    const listener = await UdpListener.open({
      address: "127.0.0.1",
      port: 0,
      family: "IPv4",
      onPacket: () => {},
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
});
