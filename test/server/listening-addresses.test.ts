import type { NetworkInterfaceInfo } from "node:os";
import { describe, expect, it } from "vitest";
import { resolveListeningAddresses } from "../../src/server/listening-addresses.js";

const entry = (address: string, family: "IPv4" | "IPv6", scopeid?: number): NetworkInterfaceInfo =>
  ({ address, family, netmask: "", mac: "00:00:00:00:00:00", internal: false, cidr: null, ...(scopeid === undefined ? {} : { scopeid }) }) as NetworkInterfaceInfo;

const interfaces = () => ({
  lo: [entry("127.0.0.1", "IPv4"), entry("::1", "IPv6", 0)],
  eth0: [entry("192.0.2.10", "IPv4"), entry("2001:db8::10", "IPv6", 0), entry("fe80::1", "IPv6", 2)],
});

describe("resolveListeningAddresses", () => {
  it("binds every interface address, link-local IPv6 aside, with no listening-ip", () => {
    expect(resolveListeningAddresses([], interfaces).map((a) => a.address)).toEqual(["127.0.0.1", "::1", "192.0.2.10", "2001:db8::10"]);
  });

  it("reads a wildcard as every interface address of its family, however it is written", () => {
    expect(resolveListeningAddresses(["0.0.0.0"], interfaces)).toEqual([
      { address: "127.0.0.1", family: "IPv4" },
      { address: "192.0.2.10", family: "IPv4" },
    ]);
    for (const wildcard of ["::", "0:0:0:0:0:0:0:0"]) {
      expect(resolveListeningAddresses([wildcard], interfaces).map((a) => a.address)).toEqual(["::1", "2001:db8::10"]);
    }
    expect(resolveListeningAddresses(["::", "192.0.2.10"], interfaces).map((a) => a.address)).toEqual(["::1", "2001:db8::10", "192.0.2.10"]);
  });

  it("writes each address given in one spelling, as the relay allocator and the port map compare them", () => {
    expect(resolveListeningAddresses(["0:0:0:0:0:0:0:1", "2001:DB8:0::10", "192.0.2.10"], interfaces).map((a) => a.address)).toEqual(["::1", "2001:db8::10", "192.0.2.10"]);
  });

  it("keeps the addresses given, in order", () => {
    expect(resolveListeningAddresses(["192.0.2.10", "::1"], interfaces)).toEqual([
      { address: "192.0.2.10", family: "IPv4" },
      { address: "::1", family: "IPv6" },
    ]);
  });
});

describe("hostAddressesOf: this host's addresses, for the peer policy", () => {
  it("takes every interface's address (zone dropped), the listening addresses, relay-ip and external-ip", async () => {
    const { hostAddressesOf } = await import("../../src/server/relay-node.js");
    const { configFromObject } = await import("../../src/config/config-from-object.js");
    const config = configFromObject({ relayIps: ["192.0.2.20"], externalIps: [{ public: "44.0.0.7", private: "192.0.2.10" }, { public: "45.0.0.9" }] });
    const found = hostAddressesOf(config, [{ address: "192.0.2.30" }], () => ({ ...interfaces(), eth1: [entry("fe80::2%eth1", "IPv6", 3)] }));
    expect(found.sort()).toEqual(["127.0.0.1", "192.0.2.10", "2001:db8::10", "::1", "fe80::1", "fe80::2", "192.0.2.30", "192.0.2.20", "44.0.0.7", "45.0.0.9"].sort());
  });
});
