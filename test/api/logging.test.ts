import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createApiLogger } from "../../src/api/api-logging.js";
import { bearer, closeTestApis, jsonPost, KEY, OTHER_KEY, startTestApi } from "./api-harness.js";

afterEach(closeTestApis);

describe("logs never hold a key or a password", () => {
  it("across minting, the draft route, revocation, refusals, 404s and oversized bodies, at trace level", async () => {
    const test = await startTestApi({ options: { apiKeys: [KEY, OTHER_KEY], rateLimitPerMinute: 6 } });
    const { url } = test;
    const passwords: string[] = [];
    const keep = async (response: Response) => {
      const body = (await response.json()) as { password?: string };
      if (body.password !== undefined) passwords.push(body.password);
    };
    await keep(await fetch(`${url}/api/v1/credentials?username=alice`, { headers: bearer(KEY) }));
    await keep(await fetch(`${url}/api/v1/credentials`, jsonPost({ username: "bob" }, OTHER_KEY)));
    await keep(await fetch(`${url}/?service=turn&username=janus&key=${KEY}`));
    await keep(await fetch(`${url}/?service=turn&key=${OTHER_KEY}x`));
    await keep(await fetch(`${url}/api/v1/credentials/revoke`, jsonPost({ username: "1700000000:alice" })));
    await keep(await fetch(`${url}/nope?key=${KEY}`, { headers: bearer(KEY) }));
    await keep(await fetch(`${url}/api/v1/credentials`, jsonPost({ username: "x", pad: KEY.repeat(200) })));
    await keep(await fetch(`${url}/api/v1/credentials`, jsonPost(`{"password": "${KEY}`)));
    // The sixth request from this address is allowed, the next ones are 429.
    for (let i = 0; i < 3; i++) await keep(await fetch(`${url}/api/v1/credentials`, { headers: bearer(KEY) }));
    expect(passwords).toHaveLength(4);

    const text = test.logText();
    for (const secret of [KEY, OTHER_KEY, ...passwords]) expect(text).not.toContain(secret);
    // The requests were logged (at debug), by path only.
    const requests = test.logs.filter((line) => line["msg"] === "api request");
    expect(requests.length).toBeGreaterThanOrEqual(11);
    expect(requests.every((line) => line["level"] === 20 && !String(line["path"]).includes("?"))).toBe(true);
    expect(test.logs.some((line) => line["msg"] === "credential revoked" && line["level"] === 30)).toBe(true);
  });

  it("an unexpected failure is a 500 without details, logged at error level without the query", async () => {
    const test = await startTestApi({
      mint: () => {
        throw new Error("core exploded");
      },
    });
    const response = await fetch(`${test.url}/api/v1/credentials?username=x&key=${KEY}`, { headers: bearer(KEY) });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ statusCode: 500, error: "Internal Server Error", message: "internal error" });
    const failures = test.logs.filter((line) => line["level"] === 50);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ msg: "api request failed", path: "/api/v1/credentials", err: { message: "core exploded" } });
    expect(test.logText()).not.toContain(KEY);
  });

  it("the endpoint's logger redacts secret fields by name and logs requests without query or headers", () => {
    const lines: string[] = [];
    const parent = pino({ level: "trace" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    const log = createApiLogger(parent);
    log.info(
      {
        password: "pw-1",
        key: "key-1",
        apiKey: "key-2",
        credential: "pw-2",
        headers: { authorization: "Bearer key-3" },
        nested: { secret: "s-1" },
        req: { method: "GET", url: "/?service=turn&key=key-4", ip: "192.0.2.7", headers: { authorization: "Bearer key-5" } },
      },
      "test",
    );
    const line = JSON.parse(lines.join("")) as Record<string, unknown>;
    expect(line).toMatchObject({
      component: "api",
      password: "[redacted]",
      key: "[redacted]",
      apiKey: "[redacted]",
      credential: "[redacted]",
      headers: { authorization: "[redacted]" },
      nested: { secret: "[redacted]" },
      req: { method: "GET", path: "/", remoteAddress: "192.0.2.7" },
    });
    expect(lines.join("")).not.toMatch(/key-\d|pw-\d|s-1/);
  });
});
