import { describe, expect, it } from "vitest";
import * as turnpike from "../src/index.js";
import { Method, MessageClass } from "../src/stun/constants.js";
import { getAttribute } from "../src/stun/attributes/registry.js";
import { createRecordingLogger } from "./helpers/logger.js";
import { SocketTurnClient } from "./helpers/turn-socket-client.js";
import { errorCode } from "./helpers/turn-messages.js";

describe("the package's public API", () => {
  it("starts a server from configFromObject and mints REST credentials it accepts", async () => {
    const config = turnpike.configFromObject({
      noApi: true,
      listeningIps: ["127.0.0.1"],
      listeningPort: 0,
      noTcp: true,
      useAuthSecret: true,
      staticAuthSecrets: ["s"],
      realm: "example.org",
      relayThreads: 1,
    });
    const server = await turnpike.startServer(config, { logger: createRecordingLogger() });
    const clients: SocketTurnClient[] = [];
    try {
      expect(server.listeners.map((l) => l.transport)).toEqual(["udp"]);
      const at = { address: "127.0.0.1", port: server.listeners[0]!.port };
      const nowMs = Date.now();
      const credential = turnpike.mintRestCredentials({ secret: "s", user: "u", ttlSeconds: 60, nowMs });
      expect(credential.username).toBe(`${Math.floor(nowMs / 1000) + 60}:u`);

      const client = await SocketTurnClient.udp(at, { username: credential.username, password: credential.password, realm: "example.org" });
      clients.push(client);
      const allocated = await client.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]);
      expect(allocated.messageClass).toBe(MessageClass.SuccessResponse);
      expect(getAttribute(allocated, "XOR-RELAYED-ADDRESS")?.address).toBe("127.0.0.1");

      // Signed with another secret, the same username is refused.
      const other = turnpike.mintRestCredentials({ secret: "not s", user: "u", ttlSeconds: 60, nowMs });
      const refused = await SocketTurnClient.udp(at, { username: other.username, password: other.password, realm: "example.org" });
      clients.push(refused);
      expect(errorCode(await refused.request(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: 17 }]))).toBe(401);
    } finally {
      for (const client of clients) client.close();
      await server.close();
    }
  });
});
