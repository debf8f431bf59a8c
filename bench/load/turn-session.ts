// One TURN client 5-tuple, over UDP or TCP, built on turnpike's own codec (src/stun): the Allocate
// with its 401 round trip, CreatePermission, ChannelBind and Refresh, signed with the long-term key.
// Once set up, the data path bypasses all of this: `sendFrame` writes bytes as they are and every
// frame that is not STUN goes to `onData`.
import dgram from "node:dgram";
import net from "node:net";
import {
  decodeMessage,
  deriveLongTermKey,
  encodeMessage,
  getAttribute,
  MessageClass,
  Method,
  TRANSACTION_ID_LENGTH,
  type AttributeEntry,
  type StunMessage,
  type TransportAddress,
  writeRandomTransactionId,
} from "../../src/stun/index.js";
import { StreamFrames } from "./stream-frames.js";

export type ClientTransport = "udp" | "tcp";

export interface TurnServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface LongTermCredentials {
  readonly username: string;
  readonly password: string;
}

/** RFC 8656 §18.13: REQUESTED-TRANSPORT for UDP. */
const PROTOCOL_UDP = 17;
// RFC 8489 §6.2.1: RTO 500 ms, doubled on each retransmission; bounded here at four transmissions.
const INITIAL_RTO_MS = 500;
const UDP_TRANSMISSIONS = 4;
const TCP_TIMEOUT_MS = 8_000;
// RFC 8656 §11.4: Data indication (method 0x007, class indication) as the first two bytes.
const DATA_INDICATION = 0x0017;

// The load side's own CPU per allocation counts against every server alike (2 shared cores): a
// randomBytes(12) per request was 16% of the generator's time in the allocation churn, where IDs
// from the codec's pool cost next to nothing. Likewise the long-term key, which every session of
// the churn derived for the same user, realm and password.
const longTermKeys = new Map<string, Buffer>();
/** Each request's ID, written here and copied into the request as it is encoded. */
const transactionId = Buffer.alloc(TRANSACTION_ID_LENGTH);

function longTermKey(credentials: LongTermCredentials, realm: string): Buffer {
  const name = `${credentials.username}\0${realm}\0${credentials.password}`;
  let key = longTermKeys.get(name);
  if (key === undefined) longTermKeys.set(name, (key = deriveLongTermKey(credentials.username, realm, credentials.password, "MD5")));
  return key;
}

export class TurnRequestError extends Error {
  constructor(
    readonly method: number,
    readonly code: number | undefined,
  ) {
    super(code === undefined ? `TURN method 0x${method.toString(16)} timed out` : `TURN method 0x${method.toString(16)} failed with ${code}`);
    this.name = "TurnRequestError";
  }
}

interface PendingRequest {
  resolve(message: StunMessage): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class TurnSession {
  /** Receives every frame that is not a response: ChannelData (both transports), Data indications, raw datagrams. */
  onData: (frame: Buffer) => void = () => {};
  relayedAddress: TransportAddress | undefined;

  private readonly pending = new Map<string, PendingRequest>();
  private nonce: string | undefined;
  private realm: string | undefined;
  private key: Buffer | undefined;
  private closed = false;

  private constructor(
    readonly transport: ClientTransport,
    private readonly udp: dgram.Socket | undefined,
    private readonly tcp: net.Socket | undefined,
    private readonly credentials: LongTermCredentials,
  ) {}

  /**
   * A connected UDP socket or a TCP connection to the server; `bufferBytes` sizes the UDP socket buffers,
   * `localAddress` is the client's own address (UDP; any 127.x.y.z works on Linux loopback).
   */
  static async connect(
    server: TurnServerAddress,
    transport: ClientTransport,
    credentials: LongTermCredentials,
    options: { readonly bufferBytes?: number; readonly localAddress?: string } = {},
  ): Promise<TurnSession> {
    if (transport === "udp") {
      const socket = dgram.createSocket({
        type: server.host.includes(":") ? "udp6" : "udp4",
        ...(options.bufferBytes === undefined ? {} : { recvBufferSize: options.bufferBytes, sendBufferSize: options.bufferBytes }),
      });
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        const connect = (): void =>
          socket.connect(server.port, server.host, () => {
            socket.off("error", reject);
            resolve();
          });
        if (options.localAddress === undefined) connect();
        else socket.bind({ port: 0, address: options.localAddress }, connect);
      });
      const session = new TurnSession("udp", socket, undefined, credentials);
      socket.on("message", (bytes) => session.receive(bytes));
      // ICMP port unreachable after the server went away; requests time out on their own.
      socket.on("error", () => {});
      return session;
    }
    const socket = net.connect({ host: server.host, port: server.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const session = new TurnSession("tcp", undefined, socket, credentials);
    const frames = new StreamFrames();
    const receive = (frame: Buffer): void => session.receive(frame);
    socket.on("data", (chunk: Buffer) => frames.push(chunk, receive));
    socket.on("error", () => {});
    socket.on("close", () => session.failPending(new Error("TCP connection closed")));
    return session;
  }

  /** The data path: bytes go out as they are (a ChannelData frame, or a raw datagram). */
  sendFrame(frame: Buffer): void {
    if (this.udp !== undefined) this.udp.send(frame);
    else this.tcp!.write(frame);
  }

  /** TCP only: the socket asked the writer to wait for "drain". */
  isBackpressured(): boolean {
    return this.tcp?.writableNeedDrain ?? false;
  }

  onDrain(listener: () => void): void {
    this.tcp?.on("drain", listener);
  }

  /** RFC 8656 §7.1: first unauthenticated (401 with REALM and NONCE), then signed. */
  async allocate(): Promise<TransportAddress> {
    const response = await this.transact(Method.Allocate, [{ name: "REQUESTED-TRANSPORT", value: PROTOCOL_UDP }]);
    const relayed = getAttribute(response, "XOR-RELAYED-ADDRESS");
    if (relayed === undefined) throw new Error("Allocate success without XOR-RELAYED-ADDRESS");
    this.relayedAddress = relayed;
    return relayed;
  }

  async createPermission(peer: TransportAddress): Promise<void> {
    await this.transact(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: peer }]);
  }

  /** RFC 8656 §12.2: also installs the permission for the peer. */
  async channelBind(channelNumber: number, peer: TransportAddress): Promise<void> {
    await this.transact(Method.ChannelBind, [
      { name: "CHANNEL-NUMBER", value: channelNumber },
      { name: "XOR-PEER-ADDRESS", value: peer },
    ]);
  }

  /** Lifetime 0 deletes the allocation (RFC 8656 §8). */
  async refresh(lifetimeSeconds: number): Promise<void> {
    await this.transact(Method.Refresh, [{ name: "LIFETIME", value: lifetimeSeconds }]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failPending(new Error("session closed"));
    if (this.udp !== undefined) {
      const socket = this.udp;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    } else {
      this.tcp!.destroy();
    }
  }

  /** Sends a request, retrying once signed after 401 and once more after 438 (stale nonce). */
  private async transact(method: number, attributes: readonly AttributeEntry[], retriesLeft = 2): Promise<StunMessage> {
    const response = await this.exchange(this.buildRequest(method, attributes), method);
    if (response.messageClass === MessageClass.SuccessResponse) return response;
    const code = getAttribute(response, "ERROR-CODE")?.code;
    if ((code === 401 || code === 438) && retriesLeft > 0 && this.learn(response)) {
      return this.transact(method, attributes, retriesLeft - 1);
    }
    throw new TurnRequestError(method, code);
  }

  private buildRequest(method: number, attributes: readonly AttributeEntry[]): Buffer {
    writeRandomTransactionId(transactionId, 0);
    if (this.nonce === undefined || this.realm === undefined || this.key === undefined) {
      return encodeMessage({ method, messageClass: MessageClass.Request, transactionId, attributes });
    }
    return encodeMessage(
      {
        method,
        messageClass: MessageClass.Request,
        transactionId,
        attributes: [
          ...attributes,
          { name: "USERNAME", value: this.credentials.username },
          { name: "REALM", value: this.realm },
          { name: "NONCE", value: this.nonce },
        ],
      },
      { integrity: { key: this.key, algorithm: "sha1" } },
    );
  }

  /** Remembers REALM and NONCE from a challenge; false when it carried neither. */
  private learn(response: StunMessage): boolean {
    const nonce = getAttribute(response, "NONCE");
    const realm = getAttribute(response, "REALM") ?? this.realm;
    if (nonce === undefined || realm === undefined) return false;
    this.nonce = nonce;
    if (realm !== this.realm || this.key === undefined) {
      this.realm = realm;
      this.key = longTermKey(this.credentials, realm);
    }
    return true;
  }

  private exchange(request: Buffer, method: number): Promise<StunMessage> {
    const id = request.toString("hex", 8, 20);
    return new Promise((resolve, reject) => {
      const entry: PendingRequest = { resolve, reject, timer: undefined };
      let transmissions = 0;
      const transmit = (): void => {
        if (this.closed) return;
        transmissions++;
        this.sendFrame(request);
        const last = this.transport === "tcp" || transmissions >= UDP_TRANSMISSIONS;
        const wait = this.transport === "tcp" ? TCP_TIMEOUT_MS : INITIAL_RTO_MS * 2 ** (transmissions - 1);
        entry.timer = setTimeout(() => {
          if (!last) return transmit();
          this.pending.delete(id);
          reject(new TurnRequestError(method, undefined));
        }, wait);
      };
      this.pending.set(id, entry);
      transmit();
    });
  }

  private receive(bytes: Buffer): void {
    if ((bytes[0]! & 0xc0) !== 0 || bytes.readUInt16BE(0) === DATA_INDICATION) {
      this.onData(bytes);
      return;
    }
    let message: StunMessage;
    try {
      message = decodeMessage(bytes);
    } catch {
      return;
    }
    const id = message.transactionId.toString("hex");
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(message);
  }

  private failPending(error: Error): void {
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.pending.clear();
  }
}
