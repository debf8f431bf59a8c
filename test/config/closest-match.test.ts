import { describe, expect, it } from "vitest";
import { editDistance, findClosestMatch } from "../../src/config/closest-match.js";

describe("edit distance for suggestions", () => {
  it.each([
    ["listening-port", "listening-port", 0],
    ["listenig-port", "listening-port", 1],
    ["strat", "start", 1],
    ["", "abc", 3],
    ["realm", "relay-ip", 5],
  ])("%j -> %j is %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  it("suggests the nearest candidate when it is a plausible typo", () => {
    expect(findClosestMatch("listenig-port", ["listening-port", "tls-listening-port"])).toBe("listening-port");
    expect(findClosestMatch("ca-file", ["CA-file", "cert"])).toBe("CA-file");
  });

  it("suggests nothing when every candidate is far", () => {
    expect(findClosestMatch("frobnicate", ["listening-port", "realm"])).toBeUndefined();
    expect(findClosestMatch("xy", ["ne", "db"])).toBeUndefined();
  });
});
