import { describe, expect, it } from "vitest";
import { createConnectionCaps } from "../../src/transport/connection-caps.js";
import { limitSubject } from "../../src/transport/limit-subject.js";

describe("connection caps (max-tcp-connections, max-tcp-connections-per-ip)", () => {
  it("refuses past max-tcp-connections whatever the address, and admits again once one is given back", () => {
    const caps = createConnectionCaps({ maxConnections: 3, maxConnectionsPerIp: 10 });
    const releases = ["192.0.2.1", "192.0.2.2", "2001:db8::1"].map((address) => caps.admit(address));
    expect(releases.every((release) => release !== undefined)).toBe(true);
    expect(caps.admit("192.0.2.3")).toBeUndefined();
    releases[0]!();
    expect(caps.admit("192.0.2.3")).toBeDefined();
    expect(caps.openCount).toBe(3);
  });

  it("counts one IPv4 address, IPv4-mapped IPv6 included, against max-tcp-connections-per-ip", () => {
    const caps = createConnectionCaps({ maxConnections: 100, maxConnectionsPerIp: 2 });
    expect(caps.admit("192.0.2.1")).toBeDefined();
    expect(caps.admit("::ffff:192.0.2.1")).toBeDefined();
    expect(caps.admit("192.0.2.1")).toBeUndefined();
    expect(caps.admit("::ffff:192.0.2.1")).toBeUndefined();
    expect(caps.admit("192.0.2.2")).toBeDefined();
  });

  it("counts an IPv6 /64 as one IP: a host holding a /64 cannot spread past the cap", () => {
    const caps = createConnectionCaps({ maxConnections: 100, maxConnectionsPerIp: 2 });
    expect(caps.admit("2001:db8:1:2::1")).toBeDefined();
    expect(caps.admit("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBeDefined();
    expect(caps.admit("2001:db8:1:2::3")).toBeUndefined();
    expect(caps.admit("2001:db8:1:3::1")).toBeDefined();
  });

  it("gives back exactly what it counted: a second release frees nothing, and an address at zero is forgotten", () => {
    const caps = createConnectionCaps({ maxConnections: 2, maxConnectionsPerIp: 1 });
    const first = caps.admit("192.0.2.1")!;
    const second = caps.admit("2001:db8::1")!;
    first();
    first();
    expect(caps.openCount).toBe(1);
    expect(caps.subjectCount).toBe(1);
    expect(caps.admit("2001:db8::2")).toBeUndefined();
    second();
    expect(caps.openCount).toBe(0);
    expect(caps.subjectCount).toBe(0);
  });

  it("a refused connection counts nothing", () => {
    const caps = createConnectionCaps({ maxConnections: 1, maxConnectionsPerIp: 1 });
    caps.admit("192.0.2.1");
    for (let i = 0; i < 5; i++) expect(caps.admit(`192.0.2.${10 + i}`)).toBeUndefined();
    expect(caps.openCount).toBe(1);
    expect(caps.subjectCount).toBe(1);
  });
});

describe("limit subject of a client address", () => {
  it.each([
    ["192.0.2.7", "192.0.2.7"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::ffff:c000:207", "192.0.2.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::99", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2:ffff::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
  ])("%s -> %s (IPv6 hosts hold a /64)", (address, subject) => {
    expect(limitSubject(address)).toBe(subject);
  });
});
