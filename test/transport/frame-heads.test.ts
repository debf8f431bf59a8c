import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { FrameHeads } from "../../src/transport/frame-heads.js";

describe("FrameHeads: one head per length, reused while sends leave at once", () => {
  it("hands out the same buffer per length, and a new one once a send has to queue", () => {
    const heads = new FrameHeads();
    const head = heads.take(4);
    expect(head).toHaveLength(4);
    expect(heads.take(36)).not.toBe(head);
    heads.sent(head, false);
    expect(heads.take(4)).toBe(head);
    heads.sent(Buffer.alloc(4), true); // not one of ours: nothing changes
    expect(heads.take(4)).toBe(head);
    heads.sent(head, true);
    const next = heads.take(4);
    expect(next).not.toBe(head);
    expect(next).toHaveLength(4);
  });
});

/** The UDP listener as a child process loads it: the build, which must not be older than the source. */
function builtModuleUrl(): string {
  const built = new URL("../../dist/transport/udp-listener.js", import.meta.url);
  for (const source of ["../../src/transport/udp-listener.ts", "../../src/transport/frame-heads.ts"]) {
    expect(statSync(built).mtimeMs, "dist/ is older than src/: npm run build").toBeGreaterThanOrEqual(statSync(new URL(source, import.meta.url)).mtimeMs);
  }
  return built.href;
}

// Sends COUNT frames in one go, each head naming its frame, to sockets of their own; prints what arrived.
// The frames go round four client addresses: each may have 64 waiting in a listener's queue.
const SCRIPT = `
import dgram from "node:dgram";
const { UdpListener } = await import(process.env.LISTENER_URL);
const COUNT = 200;
const log = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const listener = await UdpListener.open({ address: "127.0.0.1", port: 0, family: "IPv4", onPacket: () => {}, clock: Date, log });
const received = [];
let markDone;
const done = new Promise((resolve) => (markDone = resolve));
const clients = [];
for (const address of ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]) {
  const client = dgram.createSocket("udp4");
  await new Promise((resolve) => client.bind(0, address, resolve));
  client.on("message", (bytes) => received.push(bytes.toString()) === COUNT && markDone());
  clients.push(client);
}
for (let i = 0; i < COUNT; i++) {
  const client = clients[i % clients.length];
  const head = listener.link.frameHead(8);
  head.write(String(i).padStart(8, "0"));
  listener.link.sendParts(head, Buffer.from("|" + i), undefined, client.address().address, client.address().port);
}
await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 3000))]);
console.log(JSON.stringify(received));
for (const client of clients) client.close();
await listener.close();
`;

describe("UDP frame heads when sends queue (node --test-udp-no-try-send: every send waits in libuv's queue)", () => {
  it("keeps each queued frame's head as it was written", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--test-udp-no-try-send", "--input-type=module", "-e", SCRIPT], {
      env: { ...process.env, LISTENER_URL: builtModuleUrl() },
      timeout: 20_000,
    });
    const received = JSON.parse(stdout) as string[];
    expect(received).toHaveLength(200);
    for (const frame of received) {
      const [head, body] = frame.split("|");
      expect(Number(head)).toBe(Number(body));
    }
  });
});
