import { randomBytes } from "node:crypto";
import type { AttributeEntry } from "../../src/stun/attributes/registry.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { MessageClass } from "../../src/stun/constants.js";
import { deriveLongTermKey } from "../../src/stun/integrity.js";
import { decodeMessage, encodeMessage, type StunMessage } from "../../src/stun/message.js";

export interface Credentials {
  readonly username: string;
  readonly password: string;
  readonly realm: string;
}

/** Builds TURN requests the way a client does: first unauthenticated, then signed with the nonce it was given. */
export class TurnRequestBuilder {
  nonce: string | undefined;
  realm: string | undefined;

  constructor(public credentials: Credentials) {}

  get key(): Buffer {
    const { username, password, realm } = this.credentials;
    return deriveLongTermKey(username, realm, password, "MD5");
  }

  build(method: number, attributes: readonly AttributeEntry[], options: { transactionId?: Buffer; sign?: boolean } = {}): Buffer {
    const transactionId = options.transactionId ?? randomBytes(12);
    const sign = (options.sign ?? true) && this.nonce !== undefined;
    const all: AttributeEntry[] = [...attributes];
    if (sign) {
      all.push({ name: "USERNAME", value: this.credentials.username });
      all.push({ name: "REALM", value: this.realm ?? this.credentials.realm });
      all.push({ name: "NONCE", value: this.nonce! });
    }
    return encodeMessage(
      { method, messageClass: MessageClass.Request, transactionId, attributes: all },
      sign ? { integrity: { key: this.key, algorithm: "sha1" } } : {},
    );
  }

  indication(method: number, attributes: readonly AttributeEntry[]): Buffer {
    return encodeMessage({ method, messageClass: MessageClass.Indication, transactionId: randomBytes(12), attributes });
  }

  /** Remembers REALM and NONCE from a 401/438 challenge. */
  learn(response: StunMessage): void {
    const nonce = getAttribute(response, "NONCE");
    const realm = getAttribute(response, "REALM");
    if (nonce !== undefined) this.nonce = nonce;
    if (realm !== undefined) this.realm = realm;
  }
}

export function errorCode(message: StunMessage): number | undefined {
  return getAttribute(message, "ERROR-CODE")?.code;
}

export function decode(bytes: Buffer): StunMessage {
  return decodeMessage(bytes);
}

/** ChannelData as a client sends it over UDP. */
export function channelData(channel: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(channel, 0);
  header.writeUInt16BE(payload.length, 2);
  return Buffer.concat([header, payload]);
}
