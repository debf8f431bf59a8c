// The peer behind every relay in the benchmark: a UDP echo on loopback, run as its own process
// (forked with an IPC channel) so that it does not share the load generator's event loop.
// It sends every datagram back to where it came from, unchanged, and counts them; the parent asks
// for the count over IPC to know how many datagrams each relay delivered towards the peer.
import dgram from "node:dgram";
import type { EchoPeerReply, EchoPeerRequest } from "./echo-peer-messages.js";

const host = process.argv[2] ?? "127.0.0.1";
const BUFFER_BYTES = 4 * 1024 * 1024;

let received = 0;
const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4", recvBufferSize: BUFFER_BYTES, sendBufferSize: BUFFER_BYTES });
socket.on("message", (datagram, from) => {
  received++;
  socket.send(datagram, from.port, from.address);
});
socket.on("error", () => {
  // ICMP port unreachable from a relay that closed shows up here; the benchmark goes on.
});

process.on("message", (request: EchoPeerRequest) => {
  if (request.type === "counters") reply({ type: "counters", received });
});
// The parent is gone: nothing to echo for.
process.on("disconnect", () => process.exit(0));

socket.bind(0, host, () => reply({ type: "ready", port: socket.address().port }));

function reply(message: EchoPeerReply): void {
  process.send?.(message);
}
