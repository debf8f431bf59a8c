import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { TurnSession } from "../../bench/load/turn-session.js";
import { decodeMessage, encodeMessage, MessageClass } from "../../src/stun/index.js";

// The load generator draws its transaction IDs from the codec's pool (src/stun/transaction-id.ts), refilled 256 at a time.
const REQUESTS = 2_600;
const IN_FLIGHT = 16;

let server: dgram.Socket | undefined;
let session: TurnSession | undefined;

afterEach(async () => {
  await session?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  session = undefined;
});

/** A loopback STUN endpoint that answers every request with a bare success, recording its transaction ID. */
async function answeringServer(ids: string[]): Promise<number> {
  const socket = dgram.createSocket("udp4");
  server = socket;
  socket.on("message", (bytes, from) => {
    const request = decodeMessage(bytes);
    ids.push(request.transactionId.toString("hex"));
    const answer = encodeMessage({ method: request.method, messageClass: MessageClass.SuccessResponse, transactionId: request.transactionId, attributes: [] });
    socket.send(answer, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket.address().port;
}

describe("bench TurnSession", () => {
  it("gives every request a transaction ID of its own across refills of the pool, with requests in flight", async () => {
    const ids: string[] = [];
    const port = await answeringServer(ids);
    session = await TurnSession.connect({ host: "127.0.0.1", port }, "udp", { username: "bench", password: "bench" });
    const client = session;
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < REQUESTS) {
          next++;
          await client.refresh(600);
        }
      }),
    );
    // A retransmission (after 500 ms on a starved machine) repeats its request's ID: only REQUESTS distinct ones count.
    expect(ids.length).toBeGreaterThanOrEqual(REQUESTS);
    expect(new Set(ids).size).toBe(REQUESTS);
    expect(ids.every((id) => /^[0-9a-f]{24}$/.test(id))).toBe(true);
    // Random bytes: the first byte alone takes more than 200 of its 256 values across 2,600 IDs.
    const firstBytes = new Set(ids.map((id) => id.slice(0, 2)));
    expect(firstBytes.size).toBeGreaterThan(200);
  });
});
