import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { closeTestApis, bearer, ICE_URIS, jsonPost, KEY, OTHER_KEY, SECRET, startTestApi } from "./api-harness.js";

afterEach(closeTestApis);

/** base64(HMAC-SHA1(secret, username)), recomputed here rather than taken from the code under test. */
function expectedPassword(username: string): string {
  return createHmac("sha1", SECRET).update(username, "utf8").digest("base64");
}

describe("GET /api/v1/credentials (REST credentials, draft-uberti-behave-turn-rest-00 §2.2)", () => {
  it("answers username, password, ttl, uris and iceServers, not to be cached", async () => {
    const { url, clock } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials?username=alice&ttl=3600`, { headers: bearer(KEY) });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as Record<string, unknown>;
    const username = `${Math.floor(clock.now() / 1000) + 3600}:alice`;
    expect(body).toEqual({
      username,
      password: expectedPassword(username),
      ttl: 3600,
      uris: ICE_URIS,
      iceServers: [{ urls: ICE_URIS, username, credential: expectedPassword(username) }],
    });
  });

  it("without a username the TURN username is the expiry alone", async () => {
    const { url, clock } = await startTestApi();
    const body = (await (await fetch(`${url}/api/v1/credentials?ttl=60`, { headers: bearer(KEY) })).json()) as { username: string; password: string };
    expect(body.username).toBe(String(Math.floor(clock.now() / 1000) + 60));
    expect(body.password).toBe(expectedPassword(body.username));
  });

  it("takes UTF-8 user names up to 497 bytes: the USERNAME stays under 509 bytes (RFC 8489 §14.3)", async () => {
    const { url } = await startTestApi();
    const user = "é".repeat(248) + "x"; // 497 bytes
    const response = await fetch(`${url}/api/v1/credentials?username=${encodeURIComponent(user)}`, { headers: bearer(KEY) });
    expect(response.status).toBe(200);
    const { username } = (await response.json()) as { username: string };
    expect(username.endsWith(`:${user}`)).toBe(true);
    expect(Buffer.byteLength(username)).toBeLessThan(509);
  });

  it.each([
    ["absent: the default", "", 86_400],
    ["within range", "&ttl=600", 600],
    ["above the maximum: clamped", "&ttl=999999999999", 172_800],
    ["0: at least one second", "&ttl=0", 1],
    ["empty: the default", "&ttl=", 86_400],
  ])("ttl %s", async (_name, parameter, ttl) => {
    const { url, clock } = await startTestApi();
    const body = (await (await fetch(`${url}/api/v1/credentials?username=bob${parameter}`, { headers: bearer(KEY) })).json()) as {
      username: string;
      ttl: number;
    };
    expect(body.ttl).toBe(ttl);
    expect(body.username).toBe(`${Math.floor(clock.now() / 1000) + ttl}:bob`);
  });

  it("a default above the maximum is clamped too", async () => {
    const { url } = await startTestApi({ options: { defaultTtlSeconds: 7200, maxTtlSeconds: 3600 } });
    const body = (await (await fetch(`${url}/api/v1/credentials`, { headers: bearer(KEY) })).json()) as { ttl: number };
    expect(body.ttl).toBe(3600);
  });

  it("503 with an explanation when no REST secret is configured", async () => {
    const test = await startTestApi();
    test.noSecret = true;
    const response = await fetch(`${test.url}/api/v1/credentials`, { headers: bearer(KEY) });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { message: string }).message).toMatch(/REST credentials are not configured/);
  });
});

describe("POST /api/v1/credentials", () => {
  it("takes username and ttl from a JSON body", async () => {
    const { url, clock } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, jsonPost({ username: "carol", ttl: 120 }));
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as { username: string; password: string; ttl: number };
    expect(body.username).toBe(`${Math.floor(clock.now() / 1000) + 120}:carol`);
    expect(body.password).toBe(expectedPassword(body.username));
    expect(body.ttl).toBe(120);
  });

  it("takes username and ttl from the query string, as GET does, when there is no body", async () => {
    const { url, clock } = await startTestApi();
    for (const init of [{ method: "POST", headers: bearer(KEY) }, jsonPost({})]) {
      const response = await fetch(`${url}/api/v1/credentials?username=user-42&ttl=60`, init);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { username: string; ttl: number };
      expect(body.username).toBe(`${Math.floor(clock.now() / 1000) + 60}:user-42`);
      expect(body.ttl).toBe(60);
    }
  });

  it("refuses values both in the query string and in the body (400), minting nothing", async () => {
    let minted = 0;
    const { url } = await startTestApi({ mint: () => ((minted += 1), { username: "1:x", password: "p", ttlSeconds: 1 }) });
    for (const [query, body] of [["ttl=60", { username: "a" }], ["username=a", { ttl: 60 }], ["ttl=60", { ttl: 60 }]] as const) {
      const response = await fetch(`${url}/api/v1/credentials?${query}`, jsonPost(body));
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({ message: "give username and ttl in the query string or in the body, not both" });
    }
    expect(minted).toBe(0);
  });

  it("an empty body means the defaults", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, { method: "POST", headers: bearer(KEY) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { ttl: number }).ttl).toBe(86_400);
  });

  it("a body larger than 4 KiB is 413", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, jsonPost({ username: "a", padding: "x".repeat(5000) }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ statusCode: 413 });
  });

  it("a body that is not JSON is 415 or 400, and the answer does not quote it", async () => {
    const { url } = await startTestApi();
    const text = await fetch(`${url}/api/v1/credentials`, {
      method: "POST",
      headers: { "content-type": "text/plain", ...bearer(KEY) },
      body: "username=dave",
    });
    expect(text.status).toBe(415);
    const broken = await fetch(`${url}/api/v1/credentials`, jsonPost(`{"username": "eve", "password": "hunter2`));
    expect(broken.status).toBe(400);
    expect(await broken.text()).not.toContain("hunter2");
  });
});

describe("bad input is 400 and mints nothing", () => {
  const longUser = "a".repeat(498);
  it.each([
    ["a ':' in the username", "username=a%3Ab"],
    ["a control character", "username=a%00b"],
    ["a C1 control character", "username=a%C2%85b"],
    ["DEL", "username=a%7Fb"],
    ["percent-encoding that is not UTF-8", "username=%FF%FE"],
    ["an encoded surrogate", "username=%ED%A0%80"],
    ["a 498-byte username", `username=${longUser}`],
    ["the username twice", "username=a&username=b"],
    ["ttl -1", "ttl=-1"],
    ["ttl 1.5", "ttl=1.5"],
    ["ttl x", "ttl=x"],
    ["ttl 1e3", "ttl=1e3"],
    ["a misspelt ttl", "username=a&tttl=60"],
    ["a parameter the route does not take", "key=k"],
  ])("GET or POST with %s in the query string", async (_name, query) => {
    let minted = 0;
    const { url } = await startTestApi({ mint: () => ((minted += 1), { username: "1:x", password: "p", ttlSeconds: 1 }) });
    for (const method of ["GET", "POST"]) {
      const response = await fetch(`${url}/api/v1/credentials?${query}`, { method, headers: bearer(KEY) });
      expect(response.status, method).toBe(400);
      expect(response.headers.get("cache-control")).toBe("no-store");
      expect(await response.json()).toMatchObject({ statusCode: 400, error: "Bad Request" });
    }
    expect(minted).toBe(0);
  });

  it.each([
    ["a ':' in the username", { username: "a:b" }],
    ["a control character", { username: "a\nb" }],
    ["a lone surrogate", { username: "a\ud800b" }],
    ["a 498-byte username", { username: "b".repeat(498) }],
    ["a username that is not a string", { username: 42 }],
    ["ttl -1", { ttl: -1 }],
    ["ttl 1.5", { ttl: 1.5 }],
    ["ttl \"x\"", { ttl: "x" }],
    ["an unknown field", { user: "alice" }],
    ["an array", ["alice"]],
  ])("POST with %s", async (_name, body) => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, jsonPost(body));
    expect(response.status).toBe(400);
  });

  it("POST with bytes that are not UTF-8", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/api/v1/credentials`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(KEY) },
      body: Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/UTF-8/);
  });
});

describe("GET /?service=turn (draft-uberti-behave-turn-rest-00 §2.1)", () => {
  it("takes the API key as the key parameter and answers the draft's shape", async () => {
    const { url, clock } = await startTestApi();
    const response = await fetch(`${url}/?service=turn&username=janus&key=${encodeURIComponent(KEY)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    const username = `${Math.floor(clock.now() / 1000) + 86_400}:janus`;
    expect(body).toEqual({ username, password: expectedPassword(username), ttl: 86_400, uris: ICE_URIS });
  });

  it("also takes a Bearer key, and ttl", async () => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}/?service=turn&username=janus&ttl=30`, { headers: bearer(KEY) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { ttl: number }).ttl).toBe(30);
  });

  it.each([
    ["no key", "/?service=turn&username=janus", 401],
    ["a wrong key", "/?service=turn&username=janus&key=nope", 401],
    ["no service", `/?username=janus&key=${KEY}`, 400],
    ["another service", `/?service=stun&key=${KEY}`, 400],
    ["a ':' in the username", `/?service=turn&username=a:b&key=${KEY}`, 400],
  ])("%s (%s) -> %i", async (_name, path, status) => {
    const { url } = await startTestApi();
    const response = await fetch(`${url}${path}`);
    expect(response.status).toBe(status);
  });
});

describe("POST /?service=turn (draft-uberti-behave-turn-rest-00 §2.1, as Janus sends it by default)", () => {
  const FORM = "application/x-www-form-urlencoded";
  // Janus's turnrest.c: the same parameters in the URL and as the POST fields, the key twice (api= and key=).
  const janusParameters = `service=turn&api=${encodeURIComponent(KEY)}&key=${encodeURIComponent(KEY)}&username=janus`;
  const post = (url: string, path: string, body: string | undefined, contentType: string | undefined = FORM) =>
    fetch(`${url}${path}`, { method: "POST", headers: contentType === undefined ? {} : { "content-type": contentType }, body });

  it("answers Janus's POST: parameters in the query and as a form body, the key as api= and key=", async () => {
    const { url, clock } = await startTestApi();
    const response = await post(url, `/?${janusParameters}`, janusParameters);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    const username = `${Math.floor(clock.now() / 1000) + 86_400}:janus`;
    expect(await response.json()).toEqual({ username, password: expectedPassword(username), ttl: 86_400, uris: ICE_URIS });
  });

  it.each([
    ["in the form body only", "/", `service=turn&username=janus&key=${encodeURIComponent(KEY)}&ttl=30`, FORM],
    ["in the form body, with a charset", "/", `service=turn&username=janus&key=${encodeURIComponent(KEY)}&ttl=30`, `${FORM};charset=UTF-8`],
    ["in the query only, no body", `/?service=turn&username=janus&key=${encodeURIComponent(KEY)}&ttl=30`, undefined, undefined],
    ["split between query and body", `/?service=turn&ttl=30`, `username=janus&api=${encodeURIComponent(KEY)}`, FORM],
  ])("takes the parameters %s", async (_name, path, body, contentType) => {
    const { url } = await startTestApi();
    const response = await post(url, path, body, contentType);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ttl: 30, username: expect.stringMatching(/:janus$/) });
  });

  it("GET takes the older api= parameter as the key too", async () => {
    const { url } = await startTestApi();
    expect((await fetch(`${url}/?service=turn&username=janus&api=${encodeURIComponent(KEY)}`)).status).toBe(200);
  });

  it.each([
    ["no key", 401, "/", "service=turn&username=janus", FORM],
    ["a wrong api key", 401, "/", "service=turn&api=nope", FORM],
    ["key and api that differ", 400, "/", `service=turn&key=${KEY}&api=${OTHER_KEY}`, FORM],
    ["no service", 400, "/", `username=janus&key=${KEY}`, FORM],
    ["a username that differs between query and body", 400, `/?service=turn&username=a&key=${KEY}`, "username=b", FORM],
    ["a repeated parameter", 400, "/", `service=turn&username=a&username=b&key=${KEY}`, FORM],
    ["a JSON body", 415, "/", JSON.stringify({ service: "turn", key: KEY }), "application/json"],
    ["a text body", 415, "/", `service=turn&key=${KEY}`, "text/plain"],
    ["a form body in another charset", 415, "/", `service=turn&key=${KEY}&username=caf%E9`, `${FORM}; charset=ISO-8859-1`],
    ["a body over 4096 bytes", 413, "/", `service=turn&key=${KEY}&username=${"a".repeat(4096)}`, FORM],
  ])("%s -> %i", async (_name, status, path, body, contentType) => {
    const test = await startTestApi();
    const response = await post(test.url, path, body, contentType);
    expect(response.status).toBe(status);
    const text = await response.text();
    expect(text).not.toContain(KEY);
    expect(text).not.toMatch(/password/);
  });

  it("a form body is taken on POST / only", async () => {
    const { url } = await startTestApi();
    expect((await post(url, "/api/v1/credentials", "username=a")).status).toBe(415);
  });
});

describe("POST /api/v1/credentials/revoke", () => {
  it("revokes the username as minted and says how many allocations ended", async () => {
    const test = await startTestApi({ allocationsEndedPerRevoke: 2 });
    const response = await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1700000000:alice" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: "1700000000:alice", allocationsEnded: 2 });
    expect(test.revoked).toEqual(["1700000000:alice"]);
  });

  it("with redis-url: says the other nodes were told", async () => {
    const test = await startTestApi({ allocationsEndedPerRevoke: 1, revokeShared: true });
    const response = await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1700000000:alice" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: "1700000000:alice", allocationsEnded: 1, shared: true });
  });

  it("with redis-url down: 503 saying this node revoked it and the others may not have been told, so the client sends it again", async () => {
    const test = await startTestApi({ allocationsEndedPerRevoke: 3, revokeShared: { error: "redis-url is not connected" } });
    const response = await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1700000000:alice" }));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 503, revoked: "1700000000:alice", allocationsEnded: 3, shared: false });
    expect(body["message"]).toBe("revoked on this node; the other nodes may not have been told (redis-url is not connected): send it again");
    expect(test.revoked).toEqual(["1700000000:alice"]);
    expect(test.logs.find((line) => line["msg"] === "credential revoked on this node, maybe not on the others")).toMatchObject({ level: 40, error: "redis-url is not connected" });
  });

  it.each([
    ["no body", undefined],
    ["no username", {}],
    ["an empty username", { username: "" }],
    ["a number", { username: 1700000000 }],
    ["a control character", { username: "1700000000:a\u0007" }],
    ["509 bytes", { username: "1".repeat(509) }],
    ["an unknown field", { username: "1:a", all: true }],
  ])("400 with %s, and nothing revoked", async (_name, body) => {
    const test = await startTestApi();
    const init = body === undefined ? { method: "POST", headers: bearer(KEY) } : jsonPost(body);
    const response = await fetch(`${test.url}/api/v1/credentials/revoke`, init);
    expect(response.status).toBe(400);
    expect(test.revoked).toEqual([]);
  });

  it("needs an API key", async () => {
    const test = await startTestApi();
    const response = await fetch(`${test.url}/api/v1/credentials/revoke`, jsonPost({ username: "1:a" }, null));
    expect(response.status).toBe(401);
    expect(test.revoked).toEqual([]);
  });
});
