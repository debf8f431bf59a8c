import type net from "node:net";
import { getAttribute } from "../../../src/stun/attributes/registry.js";
import { AttributeType } from "../../../src/stun/constants.js";
import { deriveLongTermKey } from "../../../src/stun/integrity.js";
import { StreamReader } from "../../helpers/sockets.js";
import { ALICE, connectStream, UdpClient, type Endpoint } from "./live.js";
import {
  answerOf,
  channelDataFrame,
  message,
  REQUESTED_TRANSPORT_UDP,
  signedRequest,
  transactionIdOf,
  Type,
  xorAddressValue,
  type Answer,
  type SigningState,
} from "./wire.js";

/** What the tables need from a client, whatever carries it: UDP, TCP or TLS. */
export interface Exchanger {
  readonly transport: "udp" | "tcp" | "tls";
  send(bytes: Buffer): void;
  exchange(bytes: Buffer, timeoutMs?: number): Promise<Answer>;
  close(): void;
}

/** A raw TCP or TLS client; responses arrive in order, so the next STUN message answers the last request. */
export class StreamClient implements Exchanger {
  readonly reader: StreamReader;

  private constructor(
    readonly transport: "tcp" | "tls",
    readonly socket: net.Socket,
  ) {
    this.reader = new StreamReader(socket);
  }

  static async open(transport: "tcp" | "tls", server: Endpoint, ca?: Buffer, localAddress?: string): Promise<StreamClient> {
    return new StreamClient(transport, await connectStream(transport, server, ca, localAddress));
  }

  /** Over a connection opened elsewhere (one that can be reset, say). */
  static over(transport: "tcp" | "tls", socket: net.Socket): StreamClient {
    return new StreamClient(transport, socket);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async exchange(bytes: Buffer, timeoutMs = 2000): Promise<Answer> {
    this.send(bytes);
    for (;;) {
      const first = await this.reader.read(4, timeoutMs);
      if (first[0]! >= 0x40) {
        // ChannelData from a peer (RFC 8656 §12.5: padded to 4): not the answer.
        await this.reader.read((first.readUInt16BE(2) + 3) & ~3, timeoutMs);
        continue;
      }
      const rest = await this.reader.read(16, timeoutMs);
      const header = Buffer.concat([first, rest]);
      const whole = Buffer.concat([header, await this.reader.read(header.readUInt16BE(2), timeoutMs)]);
      if (transactionIdOf(whole).equals(transactionIdOf(bytes))) return answerOf(whole);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function openClient(transport: "udp" | "tcp" | "tls", endpoint: Endpoint, ca?: Buffer): Promise<Exchanger> {
  return transport === "udp" ? UdpClient.open(endpoint) : StreamClient.open(transport, endpoint, ca);
}

/** RFC 8489 §9.2: an unauthenticated Allocate; the 401 names the realm and a nonce for this 5-tuple. */
export async function learnNonce(client: Exchanger, user: { username: string; password: string } = ALICE): Promise<SigningState> {
  const challenge = await client.exchange(message(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP]));
  if (challenge.code !== 401) throw new Error(`expected 401, got ${challenge.code}`);
  const nonce = getAttribute(challenge.message, "NONCE")!;
  const realm = getAttribute(challenge.message, "REALM")!;
  return { username: user.username, realm, nonce, key: deriveLongTermKey(user.username, realm, user.password, "MD5") };
}

export interface TestAllocation {
  readonly signing: SigningState;
  readonly relayed: Endpoint;
}

/** Allocates for alice, then permits `peer` and binds `channelNumber` to it (RFC 8656 §7, §9, §11). */
export async function allocateWithChannel(client: Exchanger, peer: Endpoint, channelNumber = 0x4001): Promise<TestAllocation> {
  const signing = await learnNonce(client);
  const allocated = await client.exchange(signedRequest(Type.AllocateRequest, [REQUESTED_TRANSPORT_UDP], signing));
  const relayed = getAttribute(allocated.message, "XOR-RELAYED-ADDRESS");
  if (!relayed) throw new Error(`Allocate failed with ${allocated.code}`);
  const peerAddress = { type: AttributeType.XOR_PEER_ADDRESS, value: xorAddressValue(peer.address, peer.port) };
  const channel = { type: AttributeType.CHANNEL_NUMBER, value: Buffer.from([channelNumber >> 8, channelNumber & 0xff, 0, 0]) };
  const bound = await client.exchange(signedRequest(Type.ChannelBindRequest, [channel, peerAddress], signing));
  if (bound.code !== undefined) throw new Error(`ChannelBind failed with ${bound.code}`);
  return { signing, relayed: { address: relayed.address, port: relayed.port } };
}

/** ChannelData as the transport frames it (RFC 8656 §12.5: padded to 4 over streams). */
export function channelDataFor(client: Exchanger, channelNumber: number, payload: Buffer): Buffer {
  return channelDataFrame(channelNumber, payload, payload.length, client.transport !== "udp");
}

/** Writes `bytes` one byte per write, yielding between writes so that each is its own segment (or TLS record). */
export async function writeBytewise(socket: net.Socket, bytes: Buffer): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    socket.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setImmediate(resolve));
  }
}
