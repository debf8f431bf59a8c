// One TURN client 5-tuple over UDP or TCP, speaking through turnpike's own codec: requests signed
// with the long-term credential (401 round trip, 438 re-sign), UDP retransmissions, ChannelData
// and Send indications out, ChannelData and Data indications in.
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import type { AttributeEntry } from "../src/stun/attributes/registry.js";
import { getAttribute } from "../src/stun/attributes/registry.js";
import { MessageClass, Method } from "../src/stun/constants.js";
import { deriveLongTermKey } from "../src/stun/integrity.js";
import { decodeMessage, encodeMessage, type StunMessage } from "../src/stun/message.js";
import type { TransportAddress } from "../src/stun/address.js";

export type ClientTransport = "udp" | "tcp";

export interface Credentials {
  readonly username: string;
  readonly password: string;
  readonly realm: string;
}

const UDP_RETRANSMIT_MS = 500;
const DATA_INDICATION_TYPE = 0x0017;

export class RequestError extends Error {}

interface Pending {
  readonly resolve: (message: StunMessage) => void;
  readonly reject: (error: Error) => void;
}

export class TurnConnection {
  private readonly pending = new Map<string, Pending>();
  private nonce: string | undefined;
  private realm: string | undefined;
  private readonly key: Buffer;
  closed = false;
  /** Called once when the connection ends, by us or by the server. */
  onClose: () => void = () => {};

  private constructor(
    readonly transport: ClientTransport,
    private readonly write: (bytes: Buffer) => void,
    private readonly end: (abrupt: boolean) => void,
    private readonly credentials: Credentials,
    private readonly onData: (payload: Buffer) => void,
  ) {
    this.key = deriveLongTermKey(credentials.username, credentials.realm, credentials.password, "MD5");
  }

  static async open(
    transport: ClientTransport,
    server: { host: string; port: number },
    credentials: Credentials,
    onData: (payload: Buffer) => void,
  ): Promise<TurnConnection> {
    if (transport === "udp") {
      const socket = dgram.createSocket("udp4");
      socket.on("error", () => {});
      await new Promise<void>((resolve) => socket.bind(0, server.host, resolve));
      const connection = new TurnConnection(
        "udp",
        (bytes) => socket.send(bytes, server.port, server.host),
        () => socket.close(),
        credentials,
        onData,
      );
      socket.on("message", (message) => connection.receive(message));
      socket.on("close", () => connection.markClosed());
      return connection;
    }
    const socket = net.connect({ host: server.host, port: server.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("tcp connect timeout")), 3000);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    }).catch((error: unknown) => {
      socket.destroy();
      throw error;
    });
    socket.on("error", () => {});
    const connection = new TurnConnection(
      "tcp",
      (bytes) => socket.write(bytes),
      (abrupt) => (abrupt ? socket.resetAndDestroy() : socket.destroy()),
      credentials,
      onData,
    );
    let buffered: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const length = buffered.readUInt16BE(2);
        // RFC 8656 §12.5: ChannelData over a stream is padded to a multiple of 4.
        const total = buffered[0]! < 0x40 ? 20 + length : 4 + ((length + 3) & ~3);
        if (buffered.length < total) break;
        connection.receive(buffered.subarray(0, total));
        buffered = buffered.subarray(total);
      }
    });
    socket.on("close", () => connection.markClosed());
    return connection;
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values()) pending.reject(new RequestError("connection closed"));
    this.pending.clear();
    this.onClose();
  }

  private receive(frame: Buffer): void {
    const first = frame[0]!;
    if (first >= 0x40 && first <= 0x4f) {
      if (frame.length >= 4) this.onData(frame.subarray(4, 4 + frame.readUInt16BE(2)));
      return;
    }
    if (first >= 0x04) return;
    let message: StunMessage;
    try {
      message = decodeMessage(frame);
    } catch {
      return;
    }
    if (frame.readUInt16BE(0) === DATA_INDICATION_TYPE) {
      const data = getAttribute(message, "DATA");
      if (data !== undefined) this.onData(data);
      return;
    }
    const key = message.transactionId.toString("hex");
    const pending = this.pending.get(key);
    if (pending === undefined) return;
    this.pending.delete(key);
    pending.resolve(message);
  }

  private exchange(bytes: Buffer, timeoutMs: number): Promise<StunMessage> {
    if (this.closed) return Promise.reject(new RequestError("connection closed"));
    const key = bytes.subarray(8, 20).toString("hex");
    return new Promise<StunMessage>((resolve, reject) => {
      const retransmit =
        this.transport === "udp" ? setInterval(() => !this.closed && this.write(bytes), UDP_RETRANSMIT_MS) : undefined;
      const timer = setTimeout(() => {
        this.pending.delete(key);
        clearInterval(retransmit);
        reject(new RequestError(`no response in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(key, {
        resolve: (message) => {
          clearTimeout(timer);
          clearInterval(retransmit);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          clearInterval(retransmit);
          reject(error);
        },
      });
      this.write(bytes);
    });
  }

  /** The success response to a request, signed once a nonce is known; throws RequestError otherwise. */
  async request(method: number, attributes: readonly AttributeEntry[], timeoutMs = 3000): Promise<StunMessage> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.exchange(this.build(method, attributes), timeoutMs);
      if (response.messageClass === MessageClass.SuccessResponse) return response;
      const code = getAttribute(response, "ERROR-CODE")?.code;
      if ((code === 401 && attempt === 0) || code === 438) {
        this.nonce = getAttribute(response, "NONCE") ?? this.nonce;
        this.realm = getAttribute(response, "REALM") ?? this.realm;
        continue;
      }
      throw new RequestError(`method ${method}: error ${code ?? "?"}`);
    }
    throw new RequestError(`method ${method}: authentication did not converge`);
  }

  private build(method: number, attributes: readonly AttributeEntry[]): Buffer {
    const all: AttributeEntry[] = [...attributes];
    if (this.nonce !== undefined) {
      all.push({ name: "USERNAME", value: this.credentials.username });
      all.push({ name: "REALM", value: this.realm ?? this.credentials.realm });
      all.push({ name: "NONCE", value: this.nonce });
    }
    return encodeMessage(
      { method, messageClass: MessageClass.Request, transactionId: randomBytes(12), attributes: all },
      this.nonce !== undefined ? { integrity: { key: this.key, algorithm: "sha1" } } : {},
    );
  }

  sendChannelData(channel: number, payload: Buffer): void {
    if (this.closed) return;
    // RFC 8656 §12.5: padded to a multiple of 4 over a stream; UDP datagrams are not padded.
    const padded = this.transport === "tcp" ? (payload.length + 3) & ~3 : payload.length;
    const frame = Buffer.alloc(4 + padded);
    frame.writeUInt16BE(channel, 0);
    frame.writeUInt16BE(payload.length, 2);
    payload.copy(frame, 4);
    this.write(frame);
  }

  sendIndication(peer: TransportAddress, payload: Buffer): void {
    if (this.closed) return;
    this.write(
      encodeMessage({
        method: Method.Send,
        messageClass: MessageClass.Indication,
        transactionId: randomBytes(12),
        attributes: [
          { name: "XOR-PEER-ADDRESS", value: peer },
          { name: "DATA", value: payload },
        ],
      }),
    );
  }

  /** Closes the socket; `abrupt` resets a TCP connection (RST) instead of closing it. */
  close(abrupt = false): void {
    if (this.closed) return;
    this.end(abrupt);
    this.markClosed();
  }
}
