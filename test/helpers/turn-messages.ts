import { createHash, randomBytes } from "node:crypto";
import type { AttributeEntry, AttributeValues } from "../../src/stun/attributes/registry.js";
import { getAttribute } from "../../src/stun/attributes/registry.js";
import { MessageClass, PasswordAlgorithm } from "../../src/stun/constants.js";
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
  /** PASSWORD-ALGORITHMS from the last challenge, echoed back when signing with SHA-256 (RFC 8489 §9.2.5). */
  passwordAlgorithms: AttributeValues["PASSWORD-ALGORITHMS"] | undefined;
  /**
   * Sends USERHASH instead of USERNAME when the nonce has the "Username anonymity" bit, as an RFC
   * 8489 client must (§9.2.3.2); off by default, as browsers do not.
   */
  followsUsernameAnonymity = false;
  /** With `sha1`: names MD5 in PASSWORD-ALGORITHM (and echoes PASSWORD-ALGORITHMS), still signing with MESSAGE-INTEGRITY. */
  negotiatesMd5 = false;

  /** `sha256`: MESSAGE-INTEGRITY-SHA256 with a SHA-256 key, as RFC 8489 clients may; default is what browsers do. */
  constructor(
    public credentials: Credentials,
    readonly integrity: "sha1" | "sha256" = "sha1",
  ) {}

  get key(): Buffer {
    const { username, password, realm } = this.credentials;
    return deriveLongTermKey(username, realm, password, this.integrity === "sha256" ? "SHA-256" : "MD5");
  }

  build(method: number, attributes: readonly AttributeEntry[], options: { transactionId?: Buffer; sign?: boolean } = {}): Buffer {
    const transactionId = options.transactionId ?? randomBytes(12);
    const sign = (options.sign ?? true) && this.nonce !== undefined;
    const all: AttributeEntry[] = [...attributes];
    if (sign) {
      const realm = this.realm ?? this.credentials.realm;
      if (this.followsUsernameAnonymity && nonceOffersUserhash(this.nonce!)) {
        all.push({ name: "USERHASH", value: createHash("sha256").update(`${this.credentials.username}:${realm}`).digest() });
      } else {
        all.push({ name: "USERNAME", value: this.credentials.username });
      }
      all.push({ name: "REALM", value: realm });
      all.push({ name: "NONCE", value: this.nonce! });
      if (this.integrity === "sha256" || this.negotiatesMd5) {
        const algorithm = this.integrity === "sha256" ? PasswordAlgorithm.SHA256 : PasswordAlgorithm.MD5;
        all.push({ name: "PASSWORD-ALGORITHMS", value: this.passwordAlgorithms ?? [] });
        all.push({ name: "PASSWORD-ALGORITHM", value: { algorithm, parameters: Buffer.alloc(0) } });
      }
    }
    return encodeMessage(
      { method, messageClass: MessageClass.Request, transactionId, attributes: all },
      sign ? { integrity: { key: this.key, algorithm: this.integrity } } : {},
    );
  }

  indication(method: number, attributes: readonly AttributeEntry[]): Buffer {
    return encodeMessage({ method, messageClass: MessageClass.Indication, transactionId: randomBytes(12), attributes });
  }

  /** Remembers REALM and NONCE from a 401/438 challenge. */
  learn(response: StunMessage): void {
    const nonce = getAttribute(response, "NONCE");
    const realm = getAttribute(response, "REALM");
    const algorithms = getAttribute(response, "PASSWORD-ALGORITHMS");
    if (nonce !== undefined) this.nonce = nonce;
    if (realm !== undefined) this.realm = realm;
    if (algorithms !== undefined) this.passwordAlgorithms = algorithms;
  }
}

/** RFC 8489 §9.2: the nonce cookie, then 24 feature bits in base64; "Username anonymity" is bit 1 from the least significant (erratum 6290). */
export function nonceOffersUserhash(nonce: string): boolean {
  if (!nonce.startsWith("obMatJos2")) return false;
  return (Buffer.from(nonce.slice(9, 13), "base64").readUIntBE(0, 3) & 0b10) !== 0;
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
