import { AttributeType, MessageClass } from "../constants.js";
import type { TransportAddress } from "../address.js";
import { StunDecodeError } from "../decode-error.js";
import { findView } from "../find-view.js";
import type { StunAttributeView, StunMessage } from "../message.js";
import { mappedAddressCodec, xorAddressCodec } from "./address.js";
import { createFixedBytesCodec, dataCodec, sha256MacCodec } from "./bytes.js";
import type { AttributeCodec } from "./codec.js";
import { addressErrorCodeCodec, errorCodeCodec } from "./error-code.js";
import { evenPortCodec, presenceCodec } from "./flag.js";
import { icmpCodec } from "./icmp.js";
import { leadingUint16Codec, leadingUint8Codec, uint32Codec, uint64Codec } from "./numeric.js";
import { passwordAlgorithmCodec, passwordAlgorithmsCodec } from "./password-algorithm.js";
import { alternateDomainCodec, textCodec, usernameCodec } from "./string.js";
import { unknownAttributesCodec } from "./unknown-attributes.js";

/** The decoded value of each known attribute, by its RFC name. Buffer values are views into the message. */
export interface AttributeValues {
  "MAPPED-ADDRESS": TransportAddress;
  "XOR-MAPPED-ADDRESS": TransportAddress;
  "XOR-PEER-ADDRESS": TransportAddress;
  "XOR-RELAYED-ADDRESS": TransportAddress;
  "ALTERNATE-SERVER": TransportAddress;
  USERNAME: string;
  REALM: string;
  NONCE: string;
  SOFTWARE: string;
  "ALTERNATE-DOMAIN": string;
  USERHASH: Buffer;
  "MESSAGE-INTEGRITY": Buffer;
  "MESSAGE-INTEGRITY-SHA256": Buffer;
  FINGERPRINT: number;
  "ERROR-CODE": { code: number; reason: string };
  "UNKNOWN-ATTRIBUTES": number[];
  "PASSWORD-ALGORITHM": { algorithm: number; parameters: Buffer };
  "PASSWORD-ALGORITHMS": { algorithm: number; parameters: Buffer }[];
  LIFETIME: number;
  DATA: Buffer;
  "CHANNEL-NUMBER": number;
  "REQUESTED-TRANSPORT": number;
  /** Raw wire family (0x01 IPv4, 0x02 IPv6); other values decode so that TURN can answer 440. */
  "REQUESTED-ADDRESS-FAMILY": number;
  "ADDITIONAL-ADDRESS-FAMILY": number;
  "EVEN-PORT": boolean;
  "RESERVATION-TOKEN": Buffer;
  "DONT-FRAGMENT": true;
  ICMP: { type: number; code: number; data: number };
  "ADDRESS-ERROR-CODE": { family: number; code: number; reason: string };
  "CONNECTION-ID": number;
  PRIORITY: number;
  "USE-CANDIDATE": true;
  "ICE-CONTROLLED": bigint;
  "ICE-CONTROLLING": bigint;
}

export type AttributeName = keyof AttributeValues;

export type AttributeEntry = {
  [N in AttributeName]: { readonly name: N; readonly value: AttributeValues[N] };
}[AttributeName];

export interface AttributeSpec<T> {
  readonly type: number;
  readonly codec: AttributeCodec<T>;
}

type AttributeRegistry = { readonly [N in AttributeName]: AttributeSpec<AttributeValues[N]> };

const REGISTRY: AttributeRegistry = {
  "MAPPED-ADDRESS": { type: AttributeType.MAPPED_ADDRESS, codec: mappedAddressCodec },
  "XOR-MAPPED-ADDRESS": { type: AttributeType.XOR_MAPPED_ADDRESS, codec: xorAddressCodec },
  "XOR-PEER-ADDRESS": { type: AttributeType.XOR_PEER_ADDRESS, codec: xorAddressCodec },
  "XOR-RELAYED-ADDRESS": { type: AttributeType.XOR_RELAYED_ADDRESS, codec: xorAddressCodec },
  "ALTERNATE-SERVER": { type: AttributeType.ALTERNATE_SERVER, codec: mappedAddressCodec },
  USERNAME: { type: AttributeType.USERNAME, codec: usernameCodec },
  REALM: { type: AttributeType.REALM, codec: textCodec },
  NONCE: { type: AttributeType.NONCE, codec: textCodec },
  SOFTWARE: { type: AttributeType.SOFTWARE, codec: textCodec },
  "ALTERNATE-DOMAIN": { type: AttributeType.ALTERNATE_DOMAIN, codec: alternateDomainCodec },
  USERHASH: { type: AttributeType.USERHASH, codec: createFixedBytesCodec(32) },
  "MESSAGE-INTEGRITY": { type: AttributeType.MESSAGE_INTEGRITY, codec: createFixedBytesCodec(20) },
  "MESSAGE-INTEGRITY-SHA256": { type: AttributeType.MESSAGE_INTEGRITY_SHA256, codec: sha256MacCodec },
  FINGERPRINT: { type: AttributeType.FINGERPRINT, codec: uint32Codec },
  "ERROR-CODE": { type: AttributeType.ERROR_CODE, codec: errorCodeCodec },
  "UNKNOWN-ATTRIBUTES": { type: AttributeType.UNKNOWN_ATTRIBUTES, codec: unknownAttributesCodec },
  "PASSWORD-ALGORITHM": { type: AttributeType.PASSWORD_ALGORITHM, codec: passwordAlgorithmCodec },
  "PASSWORD-ALGORITHMS": { type: AttributeType.PASSWORD_ALGORITHMS, codec: passwordAlgorithmsCodec },
  LIFETIME: { type: AttributeType.LIFETIME, codec: uint32Codec },
  DATA: { type: AttributeType.DATA, codec: dataCodec },
  "CHANNEL-NUMBER": { type: AttributeType.CHANNEL_NUMBER, codec: leadingUint16Codec },
  "REQUESTED-TRANSPORT": { type: AttributeType.REQUESTED_TRANSPORT, codec: leadingUint8Codec },
  "REQUESTED-ADDRESS-FAMILY": { type: AttributeType.REQUESTED_ADDRESS_FAMILY, codec: leadingUint8Codec },
  "ADDITIONAL-ADDRESS-FAMILY": { type: AttributeType.ADDITIONAL_ADDRESS_FAMILY, codec: leadingUint8Codec },
  "EVEN-PORT": { type: AttributeType.EVEN_PORT, codec: evenPortCodec },
  "RESERVATION-TOKEN": { type: AttributeType.RESERVATION_TOKEN, codec: createFixedBytesCodec(8) },
  "DONT-FRAGMENT": { type: AttributeType.DONT_FRAGMENT, codec: presenceCodec },
  ICMP: { type: AttributeType.ICMP, codec: icmpCodec },
  "ADDRESS-ERROR-CODE": { type: AttributeType.ADDRESS_ERROR_CODE, codec: addressErrorCodeCodec },
  "CONNECTION-ID": { type: AttributeType.CONNECTION_ID, codec: uint32Codec },
  PRIORITY: { type: AttributeType.PRIORITY, codec: uint32Codec },
  "USE-CANDIDATE": { type: AttributeType.USE_CANDIDATE, codec: presenceCodec },
  "ICE-CONTROLLED": { type: AttributeType.ICE_CONTROLLED, codec: uint64Codec },
  "ICE-CONTROLLING": { type: AttributeType.ICE_CONTROLLING, codec: uint64Codec },
};

const NAME_BY_TYPE: ReadonlyMap<number, AttributeName> = new Map(
  (Object.keys(REGISTRY) as AttributeName[]).map((name) => [REGISTRY[name].type, name]),
);

export function attributeName(type: number): AttributeName | undefined {
  return NAME_BY_TYPE.get(type);
}

export function attributeSpec<N extends AttributeName>(name: N): AttributeSpec<AttributeValues[N]> {
  return REGISTRY[name];
}

/** The first occurrence, decoded; a malformed value throws StunDecodeError "bad-attribute-value". */
export function getAttribute<N extends AttributeName>(msg: StunMessage, name: N): AttributeValues[N] | undefined {
  const spec = attributeSpec(name);
  const view = findView(msg.attributes, spec.type);
  return view === undefined ? undefined : decodeView(msg, name, spec, view);
}

/** Every occurrence in wire order (CreatePermission carries several XOR-PEER-ADDRESS). */
export function getAttributes<N extends AttributeName>(msg: StunMessage, name: N): AttributeValues[N][] {
  const spec = attributeSpec(name);
  return msg.attributes
    .filter((attribute) => attribute.type === spec.type)
    .map((view) => decodeView(msg, name, spec, view));
}

export function hasAttribute(msg: StunMessage, name: AttributeName): boolean {
  return findView(msg.attributes, REGISTRY[name].type) !== undefined;
}

function decodeView<T>(msg: StunMessage, name: AttributeName, spec: AttributeSpec<T>, view: StunAttributeView): T {
  try {
    return spec.codec.decode(msg.raw.subarray(view.offset, view.offset + view.length), msg.transactionId);
  } catch (error) {
    if (!(error instanceof StunDecodeError)) throw error;
    // RFC 8489 §14.8: a malformed request gets 400 Bad Request; anything else is dropped.
    const request =
      msg.messageClass === MessageClass.Request
        ? { method: msg.method, transactionId: msg.transactionId }
        : undefined;
    throw new StunDecodeError("bad-attribute-value", `${name}: ${error.message}`, request);
  }
}
