// An echo flow is one client 5-tuple whose payloads travel client -> relay -> echo peer -> relay -> client.
// Through a TURN server it is an allocation carrying ChannelData over UDP or TCP (a channel bound to
// the echo peer), or Send/Data indications over UDP (a permission for it); through the bare forwarder
// it is a plain UDP socket carrying the payload alone.
import { randomBytes } from "node:crypto";
import { encodeMessage, MessageClass, Method, type TransportAddress } from "../../src/stun/index.js";
import { connectUdp } from "./connected-udp.js";
import { withTimeout } from "./timing.js";
import { TurnSession, type LongTermCredentials, type TurnServerAddress } from "./turn-session.js";

export type FlowKind = "udp-channel" | "tcp-channel" | "udp-send" | "raw";

/** Receives a frame that came back and where its payload starts in it. */
export type FrameReceiver = (frame: Buffer, payloadOffset: number) => void;

export interface EchoFlow {
  /** Where the payload starts in the frames this flow sends. */
  readonly payloadOffset: number;
  /** A fresh frame for `payloadBytes` of payload, header written, payload zeroed. */
  newFrame(payloadBytes: number): Buffer;
  send(frame: Buffer): void;
  setReceiver(receiver: FrameReceiver): void;
  /** The writer should wait for `onDrain` (TCP only). */
  isBackpressured(): boolean;
  onDrain(listener: () => void): void;
  close(): Promise<void>;
}

/** RFC 8656 §12: the first channel number; each flow has an allocation of its own. */
const CHANNEL_NUMBER = 0x4000;
const CHANNEL_DATA_HEADER = 4;
const STUN_HEADER = 20;
const DATA_ATTRIBUTE = 0x0013;
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
const CLOSE_TIMEOUT_MS = 1_000;

export async function openFlows(
  kind: FlowKind,
  server: TurnServerAddress,
  peer: TransportAddress,
  count: number,
  credentials: LongTermCredentials,
): Promise<EchoFlow[]> {
  const opening = Array.from({ length: count }, () => (kind === "raw" ? openRawFlow(server) : openTurnFlow(kind, server, peer, credentials)));
  const settled = await Promise.allSettled(opening);
  const flows = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failure !== undefined) {
    await closeFlows(flows);
    throw failure.reason;
  }
  return flows;
}

export async function closeFlows(flows: readonly EchoFlow[]): Promise<void> {
  await Promise.all(flows.map((flow) => flow.close()));
}

async function openTurnFlow(
  kind: "udp-channel" | "tcp-channel" | "udp-send",
  server: TurnServerAddress,
  peer: TransportAddress,
  credentials: LongTermCredentials,
): Promise<EchoFlow> {
  const session = await TurnSession.connect(server, kind === "tcp-channel" ? "tcp" : "udp", credentials, { bufferBytes: SOCKET_BUFFER_BYTES });
  try {
    await session.allocate();
    if (kind === "udp-send") await session.createPermission(peer);
    else await session.channelBind(CHANNEL_NUMBER, peer);
  } catch (error) {
    await session.close();
    throw error;
  }
  const common = {
    send: (frame: Buffer) => session.sendFrame(frame),
    isBackpressured: () => session.isBackpressured(),
    onDrain: (listener: () => void) => session.onDrain(listener),
    async close() {
      // Lifetime 0 ends the allocation now rather than at its expiry; a server already gone does not matter.
      await withTimeout(session.refresh(0).catch(() => undefined), CLOSE_TIMEOUT_MS, undefined);
      await session.close();
    },
  };
  if (kind === "udp-send") {
    const sendIndication = (payloadBytes: number): Buffer =>
      encodeMessage({
        method: Method.Send,
        messageClass: MessageClass.Indication,
        transactionId: randomBytes(12),
        attributes: [
          { name: "XOR-PEER-ADDRESS", value: peer },
          { name: "DATA", value: Buffer.alloc(payloadBytes) },
        ],
      });
    return {
      ...common,
      payloadOffset: dataOffset(sendIndication(4)) ?? 0,
      newFrame: sendIndication,
      setReceiver(receiver) {
        // Data indications: the payload is the DATA attribute, wherever the server put it.
        session.onData = (frame) => {
          const offset = dataOffset(frame);
          if (offset !== undefined) receiver(frame, offset);
        };
      },
    };
  }
  return {
    ...common,
    payloadOffset: CHANNEL_DATA_HEADER,
    newFrame(payloadBytes) {
      // RFC 8656 §12.5: over TCP the frame is padded to 4; the length field keeps the payload size.
      const frame = Buffer.alloc(CHANNEL_DATA_HEADER + (kind === "tcp-channel" ? (payloadBytes + 3) & ~3 : payloadBytes));
      frame.writeUInt16BE(CHANNEL_NUMBER, 0);
      frame.writeUInt16BE(payloadBytes, 2);
      return frame;
    },
    setReceiver(receiver) {
      session.onData = (frame) => receiver(frame, CHANNEL_DATA_HEADER);
    },
  };
}

/** Offset of the DATA value in a STUN message (RFC 8656 §18.4), walking the attributes without decoding them. */
function dataOffset(message: Buffer): number | undefined {
  if (message.length < STUN_HEADER || (message[0]! & 0xc0) !== 0) return undefined;
  for (let position = STUN_HEADER; position + 4 <= message.length; ) {
    const type = message.readUInt16BE(position);
    const length = message.readUInt16BE(position + 2);
    if (type === DATA_ATTRIBUTE) return position + 4;
    position += 4 + ((length + 3) & ~3);
  }
  return undefined;
}

async function openRawFlow(server: TurnServerAddress): Promise<EchoFlow> {
  const socket = await connectUdp(server, SOCKET_BUFFER_BYTES);
  return {
    payloadOffset: 0,
    newFrame: (payloadBytes) => Buffer.alloc(payloadBytes),
    send: (frame) => socket.send(frame),
    setReceiver(receiver) {
      socket.removeAllListeners("message");
      socket.on("message", (frame: Buffer) => receiver(frame, 0));
    },
    isBackpressured: () => false,
    onDrain: () => {},
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
