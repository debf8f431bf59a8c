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
    // Closed before the caller got to watch it: there is nothing more to read.
    if (socket.closed) return resolve({ data: Buffer.alloc(0), closed: true });
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

/** Buffers everything a stream socket receives, so consecutive reads never lose bytes. */
export class StreamReader {
  private buffered = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on("error", () => {});
  }

  /** Resolves with exactly `length` bytes, or rejects when the connection closes or `timeoutMs` passes first. */
  async read(length: number, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < length) {
      if (this.closed) throw new Error(`connection closed after ${this.buffered.length} of ${length} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.buffered.length} of ${length} bytes`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    const out = this.buffered.subarray(0, length);
    this.buffered = this.buffered.subarray(length);
    return out;
  }

  /** One whole STUN message: the header, then the body length it declares. */
  async readStun(timeoutMs = 2000): Promise<Buffer> {
    const header = await this.read(20, timeoutMs);
    return Buffer.concat([header, await this.read(header.readUInt16BE(2), timeoutMs)]);
  }
}
