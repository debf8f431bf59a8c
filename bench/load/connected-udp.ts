import dgram from "node:dgram";
import type { TurnServerAddress } from "./turn-session.js";

/**
 * A UDP socket connected to the server, with socket buffers of `bufferBytes` when given. Errors after
 * the connect (ICMP unreachable once a server has stopped) are ignored: the loads count what comes back.
 */
export async function connectUdp(server: TurnServerAddress, bufferBytes?: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: server.host.includes(":") ? "udp6" : "udp4",
    ...(bufferBytes === undefined ? {} : { recvBufferSize: bufferBytes, sendBufferSize: bufferBytes }),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(server.port, server.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", () => {});
  return socket;
}
