import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { configFromObject } from "../../src/config/config-from-object.js";
import { MessageClass, Method } from "../../src/stun/constants.js";
import { startServer } from "../../src/server/server.js";
import { DATAGRAM_SENDER, RECEIVED_DATAGRAM } from "../../src/transport/udp-listener.js";
import { REMOVED_ALLOCATION } from "../../src/turn/allocation-table.js";
import { forgetShapes, keptShape } from "../../src/turn/shape-keeper.js";
import { SocketTurnClient } from "../helpers/turn-socket-client.js";

describe("an in-process server and the shape keeper", () => {
  it("keeps a removed allocation and a received datagram while it runs, and lets both go when it closes", async () => {
    forgetShapes([REMOVED_ALLOCATION, RECEIVED_DATAGRAM, DATAGRAM_SENDER]);
    const config = configFromObject({
      noApi: true,
      relayThreads: 1,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      noTcp: true,
      realm: "example.org",
      users: ["alice:pw"],
      unauthorizedRatelimit: false,
    });
    const server = await startServer(config, { logger: pino({ level: "silent" }), inProcess: true });
    const listener = server.listeners.find((l) => l.transport === "udp")!;
    const client = await SocketTurnClient.udp({ address: listener.address, port: listener.port }, { username: "alice", password: "pw", realm: "example.org" });
    try {
      const allocated = await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
      expect(allocated.messageClass).toBe(MessageClass.SuccessResponse);
      const deleted = await client.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
      expect(deleted.messageClass).toBe(MessageClass.SuccessResponse);
      expect(keptShape(REMOVED_ALLOCATION)).toMatchObject({ username: "alice" });
      expect(keptShape(RECEIVED_DATAGRAM)).toBeInstanceOf(Buffer);
      expect(keptShape(DATAGRAM_SENDER)).toBeDefined();
    } finally {
      client.close();
      await server.close();
    }
    expect(keptShape(REMOVED_ALLOCATION)).toBeUndefined();
    expect(keptShape(RECEIVED_DATAGRAM)).toBeUndefined();
    expect(keptShape(DATAGRAM_SENDER)).toBeUndefined();
  });
});
