// The subset of the npm `stun` package (an independent STUN implementation) that the tests drive.
declare module "stun" {
  interface StunAddress {
    family: "IPv4" | "IPv6";
    address: string;
    port: number;
  }
  interface StunAttribute {
    type: number;
    value: unknown;
  }
  interface StunMessage {
    type: number;
    transactionId: Buffer;
    addAttribute(type: number, ...args: unknown[]): StunAttribute;
    addFingerprint(): StunAttribute;
    addMessageIntegrity(key: string): StunAttribute;
    addUsername(username: string): StunAttribute;
    addRealm(realm: string): StunAttribute;
    addNonce(nonce: string): StunAttribute;
    getAttribute(type: number): StunAttribute | undefined;
    getXorAddress(): StunAddress;
    getAddress(): StunAddress;
    toBuffer(): Buffer;
  }
  const stun: {
    createMessage(type: number, transactionId?: Buffer): StunMessage;
    encode(message: StunMessage): Buffer;
    decode(bytes: Buffer): StunMessage;
    validateFingerprint(message: StunMessage): boolean;
    validateMessageIntegrity(message: StunMessage, key: string): boolean;
    constants: {
      readonly STUN_BINDING_REQUEST: number;
      readonly STUN_BINDING_INDICATION: number;
      readonly STUN_BINDING_RESPONSE: number;
      readonly STUN_BINDING_ERROR_RESPONSE: number;
      readonly STUN_ATTR_XOR_MAPPED_ADDRESS: number;
      readonly STUN_ATTR_ERROR_CODE: number;
      readonly STUN_ATTR_UNKNOWN_ATTRIBUTES: number;
    };
  };
  export default stun;
}
