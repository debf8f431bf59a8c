// The far end of every relay: a UDP socket on loopback that sends each datagram back to where it came from.
import dgram from "node:dgram";

export interface EchoPeer {
  readonly port: number;
  echoed(): number;
  close(): Promise<void>;
}

export async function startEchoPeer(host: string): Promise<EchoPeer> {
  const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  let echoed = 0;
  socket.on("message", (message, rinfo) => {
    echoed++;
    socket.send(message, rinfo.port, rinfo.address);
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    port: socket.address().port,
    echoed: () => echoed,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
