import { describe, expect, it } from "vitest";
import * as turnpike from "../src/index.js";
import { createRecordingLogger } from "./helpers/logger.js";

describe("the package's public API", () => {
  it("starts a server from configFromObject and mints REST credentials it accepts", async () => {
    const config = turnpike.configFromObject({ noApi: true, listeningIps: ["127.0.0.1"], listeningPort: 0, noTcp: true, useAuthSecret: true, staticAuthSecrets: ["s"] });
    const server = await turnpike.startServer(config, { logger: createRecordingLogger() });
    try {
      expect(server.listeners.map((l) => l.transport)).toEqual(["udp"]);
      const credential = turnpike.mintRestCredentials({ secret: "s", user: "u", ttlSeconds: 60, nowMs: 1_700_000_000_000 });
      expect(credential.username).toBe("1700000060:u");
    } finally {
      await server.close();
    }
  });
});
