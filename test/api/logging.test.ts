import net from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createApiLogger } from "../../src/api/api-logging.js";
import { bearer, closeTestApis, jsonPost, KEY, OTHER_KEY, startTestApi } from "./api-harness.js";

afterEach(closeTestApis);

describe("logs never hold a key or a password", () => {
  it("across minting, the draft route (GET and POST), revocation, refusals, 404s and oversized bodies, at trace level", async () => {
    const test = await startTestApi({ options: { apiKeys: [KEY, OTHER_KEY], rateLimitPerMinute: 7 } });
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
    const janusForm = `service=turn&api=${OTHER_KEY}&key=${OTHER_KEY}&username=janus`;
    const formPost = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: janusForm };
    await keep(await fetch(`${url}/?${janusForm}`, formPost));
    await keep(await fetch(`${url}/api/v1/credentials/revoke`, jsonPost({ username: "1700000000:alice" })));
    await keep(await fetch(`${url}/nope?key=${KEY}`, { headers: bearer(KEY) }));
    await keep(await fetch(`${url}/api/v1/credentials`, jsonPost({ username: "x", pad: KEY.repeat(200) })));
    await keep(await fetch(`${url}/api/v1/credentials`, jsonPost(`{"password": "${KEY}`)));
    // The seventh request from this address is allowed, the next ones are 429.
    for (let i = 0; i < 3; i++) await keep(await fetch(`${url}/api/v1/credentials`, { headers: bearer(KEY) }));
    expect(passwords).toHaveLength(5);

    const text = test.logText();
    for (const secret of [KEY, OTHER_KEY, ...passwords]) expect(text).not.toContain(secret);
    // The requests were logged (at debug), by path only.
    const requests = test.logs.filter((line) => line["msg"] === "api request");
    expect(requests.length).toBeGreaterThanOrEqual(12);
    expect(requests.every((line) => line["level"] === 20 && !String(line["path"]).includes("?"))).toBe(true);
    expect(test.logs.some((line) => line["msg"] === "credential revoked" && line["level"] === 30)).toBe(true);
  });

  it("an unexpected failure is a 500 without details, logged at error level without the query", async () => {
    const test = await startTestApi({
      mint: () => {
        throw new Error("core exploded");
      },
    });
    // The draft route takes the key in the query string.
    const response = await fetch(`${test.url}/?service=turn&username=x&key=${KEY}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ statusCode: 500, error: "Internal Server Error", message: "internal error" });
    const failures = test.logs.filter((line) => line["level"] === 50);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ msg: "api request failed", path: "/", err: { message: "core exploded" } });
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

describe("requests Node's HTTP parser refuses", () => {
  /** Writes `raw` on a new connection; resolves with what came back once the server closes it (bounded). */
  const sendRaw = (url: string, raw: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port: Number(new URL(url).port) });
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("the server did not close the connection within 3 s"));
      }, 3_000);
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", () => {});
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("latin1"));
      });
      socket.write(raw);
    });

  /** Every string in the parsed log lines, and every logged Buffer ({type: "Buffer", data}) decoded. */
  const loggedText = (value: unknown): string[] => {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(loggedText);
    if (typeof value !== "object" || value === null) return [];
    const record = value as Record<string, unknown>;
    if (record["type"] === "Buffer" && Array.isArray(record["data"])) return [Buffer.from(record["data"] as number[]).toString("latin1")];
    return Object.entries(record).flatMap(([name, field]) => [name, ...loggedText(field)]);
  };

  it.each([
    ["an invalid header line", `GET /?service=turn&key=${KEY} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nBad Header\r\n\r\n`],
    ["an invalid request line", `GET /?service=turn&key=${KEY} HTTP/9.9 junk\r\nAuthorization: Bearer ${KEY}\r\n\r\n`],
    ["a bad Content-Length", `POST /api/v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: -1\r\n\r\n`],
  ])("answers %s with 400 and logs no part of it, at trace level", async (_name, raw) => {
    const test = await startTestApi();
    const answer = await sendRaw(test.url, raw);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain(KEY);
    const everything = loggedText(test.logs).join("\n");
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain("rawPacket");
    const lines = test.logs.filter((line) => line["msg"] === "api client error");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 10, code: expect.stringMatching(/^HPE_/) });
  });
});
