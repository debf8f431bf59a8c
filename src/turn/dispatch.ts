import type { AttributeEntry } from "../stun/attributes/registry.js";
import type { TransportAddress } from "../stun/address.js";
import { ERROR_REASON, ErrorCode, MessageClass } from "../stun/constants.js";
import { StunDecodeError } from "../stun/decode-error.js";
import { decodeMessage, encodeMessage, type StunMessage } from "../stun/message.js";
import type { ClientLink, Logger } from "./ports.js";
import { StunError } from "./stun-error.js";

export interface RequestContext {
  readonly message: StunMessage;
  readonly link: ClientLink;
  readonly clientAddress: TransportAddress;
}

export interface HandlerResult {
  readonly attributes: readonly AttributeEntry[];
  readonly integrity?: { readonly key: Buffer; readonly algorithm: "sha1" | "sha256" };
}

export type RequestHandler = (ctx: RequestContext) => HandlerResult | Promise<HandlerResult>;
export type IndicationHandler = (ctx: RequestContext) => void;
export type ChannelDataHandler = (bytes: Buffer, address: string, port: number, link: ClientLink) => void;

export interface DispatchTable {
  readonly requests: ReadonlyMap<number, RequestHandler>;
  readonly indications: ReadonlyMap<number, IndicationHandler>;
  readonly channelData?: ChannelDataHandler;
}

export interface DispatchOptions {
  /** Add FINGERPRINT to every response, not only to answers to requests that carried one. */
  readonly fingerprint: boolean;
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

  function reply(
    request: { readonly method: number; readonly transactionId: Uint8Array },
    messageClass: MessageClass,
    attributes: readonly AttributeEntry[],
    withFingerprint: boolean,
    integrity: HandlerResult["integrity"],
    address: string,
    port: number,
    link: ClientLink,
  ): void {
    const bytes = encodeMessage(
      { method: request.method, messageClass, transactionId: request.transactionId, attributes },
      { fingerprint: options.fingerprint || withFingerprint, ...(integrity ? { integrity } : {}) },
    );
    link.send(bytes, address, port);
  }

  function replyError(
    request: { readonly method: number; readonly transactionId: Uint8Array },
    error: unknown,
    withFingerprint: boolean,
    address: string,
    port: number,
    link: ClientLink,
  ): void {
    let code: ErrorCode = ErrorCode.ServerError;
    let extra: readonly AttributeEntry[] = [];
    if (error instanceof StunError) {
      code = error.code;
      extra = error.attributes;
    } else if (error instanceof StunDecodeError) {
      code = ErrorCode.BadRequest;
    } else {
      log.error({ err: error, method: request.method, client: `${address}:${port}` }, "request handler failed");
    }
    const attributes: AttributeEntry[] = [{ name: "ERROR-CODE", value: { code, reason: ERROR_REASON[code] } }, ...extra];
    reply(request, MessageClass.ErrorResponse, attributes, withFingerprint, undefined, address, port, link);
  }

  function handleStun(bytes: Buffer, address: string, port: number, link: ClientLink): void {
    let message: StunMessage;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      if (error instanceof StunDecodeError && error.request) {
        replyError(error.request, error, false, address, port, link);
      }
      return;
    }

    if (message.messageClass === MessageClass.Indication) {
      const handler = table.indications.get(message.method);
      // RFC 8489 §6.3.2: an indication with unknown comprehension-required attributes is discarded.
      if (!handler || message.unknownComprehensionRequired.length > 0) return;
      try {
        handler({ message, link, clientAddress: { family: link.family, address, port } });
      } catch (error) {
        if (!(error instanceof StunError) && !(error instanceof StunDecodeError)) {
          log.error({ err: error, method: message.method }, "indication handler failed");
        }
      }
      return;
    }
    if (message.messageClass !== MessageClass.Request) return;

    const handler = table.requests.get(message.method);
    if (!handler) return;
    const withFingerprint = message.hasFingerprint;
    if (message.unknownComprehensionRequired.length > 0) {
      const error = new StunError(ErrorCode.UnknownAttribute, undefined, [
        { name: "UNKNOWN-ATTRIBUTES", value: [...message.unknownComprehensionRequired] },
      ]);
      replyError(message, error, withFingerprint, address, port, link);
      return;
    }

    const onError = (error: unknown): void => replyError(message, error, withFingerprint, address, port, link);
    try {
      const result = handler({ message, link, clientAddress: { family: link.family, address, port } });
      if (result instanceof Promise) {
        result.then(
          (r) => reply(message, MessageClass.SuccessResponse, r.attributes, withFingerprint, r.integrity, address, port, link),
          onError,
        );
      } else {
        reply(message, MessageClass.SuccessResponse, result.attributes, withFingerprint, result.integrity, address, port, link);
      }
    } catch (error) {
      onError(error);
    }
  }

  return function handlePacket(bytes, address, port, link) {
    if (bytes.length === 0) return;
    const first = bytes[0]!;
    if (first < 0x40) {
      handleStun(bytes, address, port, link);
    } else if (first <= 0x4f) {
      table.channelData?.(bytes, address, port, link);
    }
    // RFC 8656 §12: anything else is neither STUN nor ChannelData and is dropped.
  };
}
