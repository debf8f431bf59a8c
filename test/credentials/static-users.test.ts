import { describe, expect, it } from "vitest";
import { createStaticUserTable, parseStaticUser } from "../../src/credentials/index.js";

describe("static users (coturn `user=name:password` and `user=name:0x<md5 key>`)", () => {
  it("parses name:password; the password may contain colons", () => {
    expect(parseStaticUser("alice:wonderland")).toEqual({ kind: "password", name: "alice", password: "wonderland" });
    expect(parseStaticUser("bob:a:b:c")).toEqual({ kind: "password", name: "bob", password: "a:b:c" });
  });

  it("parses name:0x<32 hex digits> as the MD5 long-term key (RFC 8489 §9.2.2), either case", () => {
    const lower = parseStaticUser("user:0x8493fbc53ba582fb4c044c456bdc40eb");
    expect(lower).toEqual({ kind: "md5-key", name: "user", md5Key: Buffer.from("8493fbc53ba582fb4c044c456bdc40eb", "hex") });
    expect(parseStaticUser("user:0x8493FBC53BA582FB4C044C456BDC40EB")).toEqual(lower);
  });

  it.each([
    ["alice", /no colon/],
    [":secret", /name is empty/],
    ["alice:", /empty password/],
    ["alice:0x8493fbc53ba582fb4c044c456bdc40e", /32 hex digits.*got 31/],
    ["alice:0x8493fbc53ba582fb4c044c456bdc40ebb", /32 hex digits.*got 33/],
    ["alice:0x", /32 hex digits.*got 0/],
    ["alice:0x8493fbc53ba582fb4c044c456bdc40eg", /not hex digits/],
  ])("rejects %j with a one-line reason", (text, reason) => {
    let error: unknown;
    try {
      parseStaticUser(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain("\n");
  });

  it("looks users up by name and refuses a name defined twice", () => {
    const alice = parseStaticUser("alice:wonderland");
    const table = createStaticUserTable([alice, parseStaticUser("bob:builder")]);
    expect(table.size).toBe(2);
    expect(table.get("alice")).toBe(alice);
    expect(table.get("carol")).toBeUndefined();
    expect(() => createStaticUserTable([alice, parseStaticUser("alice:other")])).toThrow(/defined twice/);
  });
});
