// node-turn (npm), started with the benchmark's settings: one static user, long-term credentials,
// UDP on one loopback address, relay ports in the given range. node-turn has no peer policy, so
// loopback peers need no option; it has no TCP listener and no channel-number option.
//   node node-turn-server.js <host> <port> <min-port> <max-port> <realm> <user:password>
import { createRequire } from "node:module";

interface NodeTurnServer {
  start(): void;
  stop(): void;
}
type NodeTurnConstructor = new (config: Readonly<Record<string, unknown>>) => NodeTurnServer;

const [host = "127.0.0.1", port = "3478", minPort = "49152", maxPort = "65535", realm = "bench", user = "bench:bench"] = process.argv.slice(2);
const separator = user.indexOf(":");
const require = createRequire(import.meta.url);
const NodeTurn = require("node-turn") as NodeTurnConstructor;

const server = new NodeTurn({
  listeningIps: [host],
  relayIps: [host],
  listeningPort: Number(port),
  minPort: Number(minPort),
  maxPort: Number(maxPort),
  authMech: "long-term",
  credentials: { [user.slice(0, separator)]: user.slice(separator + 1) },
  realm,
  debugLevel: "OFF",
  log: () => {},
});
server.start();

// node-turn leaves its allocation timers running after stop(), so leave at once.
const stop = (): void => {
  server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
