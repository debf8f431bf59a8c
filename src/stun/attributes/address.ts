import { AddressFamily, MAGIC_COOKIE } from "../constants.js";
import { formatIp, parseIp, type TransportAddress } from "../address.js";
import { assertEncodable, assertUint, invalidValue, type AttributeCodec } from "./codec.js";

// RFC 8489 §14.1 (MAPPED-ADDRESS) and §14.2 (XOR-MAPPED-ADDRESS): 0x00, family, port, address.
// Family 0x01 carries 4 address bytes, 0x02 carries 16; any other family or length is malformed.

function createAddressCodec(xor: boolean): AttributeCodec<TransportAddress> {
  return {
    decode(value, transactionId) {
      const family = value.length >= 2 ? value[1] : undefined;
      const expected = family === AddressFamily.IPv4 ? 8 : family === AddressFamily.IPv6 ? 20 : undefined;
      if (expected === undefined) throw invalidValue(`address family ${family ?? "missing"}`);
      if (value.length !== expected) throw invalidValue(`address value length ${value.length} for family ${family}`);

      let port = value.readUInt16BE(2);
      const bytes = Uint8Array.from(value.subarray(4));
      if (xor) {
        port ^= MAGIC_COOKIE >>> 16;
        xorAddress(bytes, transactionId);
      }
      return { family: family === AddressFamily.IPv4 ? "IPv4" : "IPv6", address: formatIp(bytes), port };
    },
    size(value) {
      return value.family === "IPv4" ? 8 : 20;
    },
    write(target, offset, value, transactionId) {
      const parsed = parseIp(value.address);
      assertEncodable(parsed !== undefined && parsed.family === value.family, `not an ${value.family} address: ${value.address}`);
      assertUint(value.port, 16, "port");
      target[offset] = 0;
      target[offset + 1] = value.family === "IPv4" ? AddressFamily.IPv4 : AddressFamily.IPv6;
      target.writeUInt16BE(xor ? value.port ^ (MAGIC_COOKIE >>> 16) : value.port, offset + 2);
      const bytes = parsed.bytes;
      if (xor) xorAddress(bytes, transactionId);
      target.set(bytes, offset + 4);
    },
  };
}

// RFC 8489 §14.2: the address is XOR'ed with the magic cookie, and for IPv6 with cookie || transaction ID.
function xorAddress(bytes: Uint8Array, transactionId: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) {
    const mask = i < 4 ? (MAGIC_COOKIE >>> ((3 - i) * 8)) & 0xff : (transactionId[i - 4] ?? 0);
    bytes[i] = (bytes[i] ?? 0) ^ mask;
  }
}

export const mappedAddressCodec = createAddressCodec(false);
export const xorAddressCodec = createAddressCodec(true);
