// The floor for a relay built on node:dgram with one callback per packet: no parsing, no checks.
// Each client address gets a relay socket of its own, connected to the peer (as a TURN allocation
// has its own relayed address); a datagram from the client goes out of that socket to the peer, and
// a datagram arriving on it goes back to the client from the listening socket.
//   node bare-forwarder.js <listen-host> <listen-port> <peer-host> <peer-port>
import dgram from "node:dgram";

const [listenHost = "127.0.0.1", listenPortText = "0", peerHost = "127.0.0.1", peerPortText = ""] = process.argv.slice(2);
const peerPort = Number(peerPortText);
if (!Number.isInteger(peerPort) || peerPort <= 0) {
  process.stderr.write("usage: bare-forwarder <listen-host> <listen-port> <peer-host> <peer-port>\n");
  process.exit(2);
}
const type = listenHost.includes(":") ? "udp6" : "udp4";

interface Relay {
  readonly socket: dgram.Socket;
  /** Payloads that arrived before connect() completed. */
  pending: Buffer[] | undefined;
}

const listener = dgram.createSocket(type);
// client address -> client port -> relay; two lookups instead of building a string key per packet.
const relays = new Map<string, Map<number, Relay>>();

listener.on("message", (payload, client) => {
  let byPort = relays.get(client.address);
  if (byPort === undefined) {
    byPort = new Map();
    relays.set(client.address, byPort);
  }
  let relay = byPort.get(client.port);
  if (relay === undefined) {
    relay = openRelay(client.address, client.port);
    byPort.set(client.port, relay);
  }
  if (relay.pending !== undefined) relay.pending.push(payload);
  else relay.socket.send(payload);
});
listener.on("error", (error) => {
  process.stderr.write(`bare-forwarder: ${error.message}\n`);
  process.exit(1);
});

function openRelay(clientAddress: string, clientPort: number): Relay {
  const socket = dgram.createSocket(type);
  const relay: Relay = { socket, pending: [] };
  socket.on("message", (payload) => listener.send(payload, clientPort, clientAddress));
  socket.on("error", () => {});
  socket.bind(0, listenHost, () =>
    socket.connect(peerPort, peerHost, () => {
      for (const payload of relay.pending ?? []) socket.send(payload);
      relay.pending = undefined;
    }),
  );
  return relay;
}

listener.bind(Number(listenPortText), listenHost);
const stop = (): void => {
  listener.close();
  for (const byPort of relays.values()) for (const relay of byPort.values()) relay.socket.close();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
