import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import type { AttributeEntry } from "../../src/stun/attributes/registry.js";
import type { StunMessage } from "../../src/stun/message.js";
import { decode, errorCode, TurnRequestBuilder, type Credentials } from "./turn-messages.js";

type Frame = Buffer;

/** A TURN client over a real UDP, TCP or TLS socket, speaking through our codec. */
export class SocketTurnClient {
  readonly builder: TurnRequestBuilder;
  private readonly frames: Frame[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  private constructor(
    private readonly sendBytes: (bytes: Buffer) => void,
    private readonly closeSocket: () => void,
    credentials: Credentials,
    readonly localPort: number,
    integrity: "sha1" | "sha256" = "sha1",
  ) {
    this.builder = new TurnRequestBuilder(credentials, integrity);
  }

  static async udp(server: { address: string; port: number }, credentials: Credentials, integrity: "sha1" | "sha256" = "sha1"): Promise<SocketTurnClient> {
    const socket = dgram.createSocket(server.address.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((resolve) => socket.bind(0, server.address.includes(":") ? "::1" : "127.0.0.1", resolve));
    const client = new SocketTurnClient(
      (b) => socket.send(b, server.port, server.address),
      () => socket.close(),
      credentials,
      socket.address().port,
      integrity,
    );
    socket.on("message", (m) => client.push(m));
    return client;
  }

  static async stream(
    kind: "tcp" | "tls",
    server: { address: string; port: number },
    credentials: Credentials,
    ca?: Buffer,
  ): Promise<SocketTurnClient> {
    const socket =
      kind === "tls"
        ? tls.connect({ host: server.address, port: server.port, ca, servername: "localhost" })
        : net.connect({ host: server.address, port: server.port });
    await new Promise<void>((resolve, reject) => {
      socket.once(kind === "tls" ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    socket.on("error", () => {});
    const client = new SocketTurnClient((b) => socket.write(b), () => socket.destroy(), credentials, socket.localPort!);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (buffered.length < 4) return;
        const isStun = buffered[0]! < 0x40;
        const length = buffered.readUInt16BE(2);
        // RFC 8656 §12.5: ChannelData over a stream is padded to a multiple of 4.
        const total = isStun ? 20 + length : 4 + ((length + 3) & ~3);
        if (buffered.length < total) return;
        client.push(buffered.subarray(0, total));
        buffered = buffered.subarray(total);
      }
    });
    socket.on("close", () => {
      client.closed = true;
      client.wake?.();
    });
    return client;
  }

  private push(frame: Frame): void {
    this.frames.push(Buffer.from(frame));
    this.wake?.();
  }

  send(bytes: Buffer): void {
    this.sendBytes(bytes);
  }

  /** The next frame that satisfies `accept`, or undefined after `timeoutMs`. */
  async next(accept: (frame: Frame) => boolean = () => true, timeoutMs = 2000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(accept);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Sends a request (signing it once a nonce is known) and returns its response; re-signs after 401/438. */
  async request(method: number, attributes: readonly AttributeEntry[] = []): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const bytes = this.builder.build(method, attributes);
      const transactionId = bytes.subarray(8, 20);
      this.send(bytes);
      const answer = await this.next((f) => f[0]! < 0x40 && f.subarray(8, 20).equals(transactionId));
      if (!answer) throw new Error(`no response to method ${method}`);
      const response = decode(answer);
      const code = response.messageClass === 3 ? errorCode(response) : undefined;
      if ((code === 401 && this.builder.nonce === undefined) || code === 438) {
        this.builder.learn(response);
        continue;
      }
      return response;
    }
    throw new Error("authentication did not converge");
  }

  close(): void {
    this.closeSocket();
  }
}

/** A UDP peer on loopback that echoes every datagram back to its sender. */
export async function startEchoPeer(address = "127.0.0.1"): Promise<{ port: number; received: Buffer[]; close(): Promise<void> }> {
  const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  const received: Buffer[] = [];
  socket.on("message", (message, rinfo) => {
    received.push(message);
    socket.send(message, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return { port: socket.address().port, received, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}
