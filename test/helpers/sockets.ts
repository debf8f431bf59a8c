import dgram from "node:dgram";
import net from "node:net";

/** Sends one datagram and resolves with the first answer, or undefined after `timeoutMs`. */
export async function udpExchange(
  bytes: Buffer,
  server: { address: string; port: number },
  timeoutMs = 2000,
): Promise<{ answer: Buffer | undefined; localPort: number }> {
  const socket = dgram.createSocket(server.address.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve) => socket.bind(0, server.address.includes(":") ? "::1" : "127.0.0.1", resolve));
  const localPort = socket.address().port;
  try {
    const answer = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      socket.once("message", (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      socket.send(bytes, server.port, server.address);
    });
    return { answer, localPort };
  } finally {
    socket.close();
  }
}

/** Collects everything a stream socket receives until it closes or `timeoutMs` passes. */
export function readStream(socket: net.Socket, timeoutMs: number): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("close", () => finish(true));
    socket.on("error", () => {});
  });
}

/** Reads exactly `length` bytes from a stream socket, or rejects after `timeoutMs`. */
export function readExactly(socket: net.Socket, length: number, timeoutMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= length) {
        cleanup();
        resolve(buffered.subarray(0, length));
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`connection closed after ${buffered.length} of ${length} bytes`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${buffered.length} of ${length} bytes`));
    }, timeoutMs);
    function cleanup(): void {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
    }
    socket.on("data", onData);
    socket.once("close", onClose);
  });
}
