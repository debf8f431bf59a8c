import type { AttributeEntry } from "../stun/attributes/registry.js";
import type { TransportAddress } from "../stun/address.js";
import { ERROR_REASON, ErrorCode, HEADER_LENGTH, MessageClass } from "../stun/constants.js";
import { messageClassOf, methodOf } from "../stun/header.js";
import { StunDecodeError } from "../stun/decode-error.js";
import type { IntegrityKey } from "../stun/integrity.js";
import { decodeMessage, encodeMessage, type StunMessage } from "../stun/message.js";
import type { TurnCounters } from "./counters.js";
import { createLogBudget } from "./log-budget.js";
import { isInfoOn, type ClientLink, type Clock, type Logger } from "./ports.js";
import type { SourceRateLimit } from "./source-rate-limit.js";
import { CredentialRejected, StunError } from "./stun-error.js";

export interface ResponseIntegrity {
  readonly key: IntegrityKey;
  readonly algorithm: "sha1" | "sha256";
}

export interface RequestContext {
  readonly message: StunMessage;
  readonly link: ClientLink;
  readonly clientAddress: TransportAddress;
  /** Set once the request authenticated: every response to it, success or error, is signed with this. */
  integrity?: ResponseIntegrity;
}

export interface HandlerResult {
  readonly attributes: readonly AttributeEntry[];
}

/**
 * What a handler answers: a success response's attributes; a StunError, answered as if it had been
 * thrown (returned where it is common, such as every client's first 401, to spare a throw's stack
 * walk); or `null`, no response at all (e.g. a retransmission arriving while the first is still in
 * progress).
 */
export type HandlerAnswer = HandlerResult | StunError | null;
export type RequestHandler = (ctx: RequestContext) => HandlerAnswer | Promise<HandlerAnswer>;
export type ChannelDataHandler = (bytes: Buffer, address: string, port: number, link: ClientLink) => void;

export interface DispatchTable {
  readonly requests: ReadonlyMap<number, RequestHandler>;
  /**
   * By method. An indication is never answered, and the one a client sends on the data path (Send)
   * is read in place by its handler: it gets the bytes, not a decoded message.
   */
  readonly indications: ReadonlyMap<number, PacketHandler>;
  readonly channelData?: ChannelDataHandler;
}

export interface DispatchOptions {
  /** Add FINGERPRINT to every response, not only to answers to requests that carried one. */
  readonly fingerprint: boolean;
  /** RFC 8489 §14.14: SOFTWARE for every response; none when unset (smaller answers). */
  readonly software?: string;
  /** Highest channel number accepted; its first byte bounds the ChannelData range of the demux. */
  readonly maxChannelNumber: number;
  /** For metrics: messages received, error responses sent (by code) and those unauthorized-ratelimit held back. */
  readonly counters?: Pick<TurnCounters, "clientMessages" | "errorResponses" | "unauthenticatedAnswersDropped">;
  /** unauthorized-ratelimit: answers to requests that did not authenticate, per source IP (IPv6: per /64). */
  readonly unauthenticatedLimit?: SourceRateLimit;
  readonly clock?: Clock;
  readonly log: Logger;
}

/** Receives one STUN message or ChannelData frame from a client; answers through `link`. */
export type PacketHandler = (bytes: Buffer, address: string, port: number, link: ClientLink) => void;

/**
 * RFC 8656 §12 demultiplexing and the one boundary where StunError, decode errors and
 * unexpected exceptions become error responses. Indications and responses are never answered.
 */
export function createDispatcher(table: DispatchTable, options: DispatchOptions): PacketHandler {
  const { log } = options;
  const clock = options.clock ?? { now: () => Date.now() };
  // What clients can make us log is bounded: a flood costs at most a few lines a minute.
  const budget = createLogBudget(log, clock, { perInterval: 20, intervalMs: 60_000 });
  // At most one line a minute (and the budget's count of what it held back) tells that answers are being dropped.
  const droppedBudget = createLogBudget(log, clock, { perInterval: 1, intervalMs: 60_000 });
  const { counters } = options;
  const lastChannelDataByte = options.maxChannelNumber >> 8;
  const software: AttributeEntry | undefined = options.software === undefined ? undefined : { name: "SOFTWARE", value: options.software };

  function reply(
    request: { readonly method: number; readonly transactionId: Uint8Array },
    messageClass: MessageClass,
    attributes: readonly AttributeEntry[],
    withFingerprint: boolean,
    integrity: ResponseIntegrity | undefined,
    address: string,
    port: number,
    link: ClientLink,
  ): void {
    let bytes: Buffer;
    try {
      bytes = encodeMessage(
        { method: request.method, messageClass, transactionId: request.transactionId, attributes: software ? [...attributes, software] : attributes },
        integrity ? { fingerprint: options.fingerprint || withFingerprint, integrity } : { fingerprint: options.fingerprint || withFingerprint },
      );
    } catch (error) {
      // A handler produced a value the wire cannot carry: a bug, reported, never a crash.
      budget.error({ err: error, method: request.method }, "response could not be encoded");
      return;
    }
    link.send(bytes, address, port);
  }

  function replyError(
    request: { readonly method: number; readonly transactionId: Uint8Array },
    error: unknown,
    withFingerprint: boolean,
    integrity: ResponseIntegrity | undefined,
    address: string,
    port: number,
    link: ClientLink,
  ): void {
    // A UDP request that did not authenticate is answered within a per-source allowance; past it, dropped.
    // Only UDP: its source can be spoofed, to reflect answers at a victim or to drain the allowance of
    // a NAT's address. A TCP or TLS client proved its address, and would wait out a dropped answer.
    if (!integrity && link.transport === "udp" && options.unauthenticatedLimit && !options.unauthenticatedLimit.take(address, clock.now())) {
      if (counters) counters.unauthenticatedAnswersDropped++;
      if (isInfoOn(log)) droppedBudget.info({ source: address, droppedSoFar: counters?.unauthenticatedAnswersDropped }, "answers to unauthenticated requests dropped (unauthorized-ratelimit)");
      return;
    }
    let code: ErrorCode = ErrorCode.ServerError;
    let extra: readonly AttributeEntry[] = [];
    let phrase: string = ERROR_REASON[code];
    if (error instanceof StunError) {
      code = error.code;
      extra = error.attributes;
      phrase = error.phrase ?? ERROR_REASON[code];
      if (error instanceof CredentialRejected) {
        // A flood of wrong passwords builds no line object when info is off.
        if (isInfoOn(log)) budget.info({ reason: error.message, username: error.username, client: `${address}:${port}`, method: request.method }, "credential rejected");
      } else if (code !== ErrorCode.Unauthenticated) {
        budget.debug({ code, reason: error.message, method: request.method }, "request rejected");
      }
    } else if (error instanceof StunDecodeError) {
      code = ErrorCode.BadRequest;
      phrase = ERROR_REASON[code];
      budget.debug({ code, reason: error.reason, method: request.method }, "request rejected");
    } else {
      budget.error({ err: error, method: request.method, client: `${address}:${port}` }, "request handler failed");
    }
    if (counters) counters.errorResponses[code] = (counters.errorResponses[code] ?? 0) + 1;
    const attributes: AttributeEntry[] = [{ name: "ERROR-CODE", value: { code, reason: phrase } }, ...extra];
    reply(request, MessageClass.ErrorResponse, attributes, withFingerprint, integrity, address, port, link);
  }

  function handleStun(bytes: Buffer, address: string, port: number, link: ClientLink): void {
    if (bytes.length >= HEADER_LENGTH) {
      const type = bytes.readUInt16BE(0);
      if (messageClassOf(type) === MessageClass.Indication) {
        table.indications.get(methodOf(type))?.(bytes, address, port, link);
        return;
      }
    }
    let message: StunMessage;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      if (error instanceof StunDecodeError && error.request) {
        replyError(error.request, error, false, undefined, address, port, link);
      }
      return;
    }

    if (message.messageClass !== MessageClass.Request) return;

    const handler = table.requests.get(message.method);
    if (!handler) return;
    const withFingerprint = message.hasFingerprint;
    // Unknown comprehension-required attributes and a malformed SOFTWARE are the handler's to answer
    // (attributeError): RFC 8489 §6.3 checks them after authentication.

    // integrity is there from the start: set later, it would give every authenticated request's
    // context a hidden class of its own, which dies with the last request (see shape-keeper.ts).
    const ctx: RequestContext = { message, link, clientAddress: { family: link.family, address, port }, integrity: undefined };
    let result: ReturnType<RequestHandler>;
    try {
      result = handler(ctx);
    } catch (error) {
      replyError(message, error, withFingerprint, ctx.integrity, address, port, link);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (settled) => answer(message, settled, withFingerprint, ctx, address, port, link),
        (error: unknown) => replyError(message, error, withFingerprint, ctx.integrity, address, port, link),
      );
    } else {
      answer(message, result, withFingerprint, ctx, address, port, link);
    }
  }

  function answer(message: StunMessage, result: HandlerAnswer, withFingerprint: boolean, ctx: RequestContext, address: string, port: number, link: ClientLink): void {
    if (result instanceof StunError) replyError(message, result, withFingerprint, ctx.integrity, address, port, link);
    else if (result) reply(message, MessageClass.SuccessResponse, result.attributes, withFingerprint, ctx.integrity, address, port, link);
  }

  return function handlePacket(bytes, address, port, link) {
    if (counters) counters.clientMessages++;
    // Nothing can be sent back to port 0 (a spoofed source): no answer, no relayed data.
    if (bytes.length === 0 || port === 0) return;
    const first = bytes[0]!;
    // Nothing a client sends may escape to the socket: an unexpected exception is a bug, logged within budget.
    try {
      if (first < 0x40) {
        handleStun(bytes, address, port, link);
      } else if (first <= lastChannelDataByte) {
        table.channelData?.(bytes, address, port, link);
      }
      // RFC 8656 §12: anything else is neither STUN nor ChannelData and is dropped.
    } catch (error) {
      budget.error({ err: error, client: `${address}:${port}`, firstByte: first }, "packet handling failed");
    }
  };
}
