import { MIN_CHANNEL_NUMBER } from "./allocation.js";

export const CHANNEL_DATA_HEADER_LENGTH = 4;

export function isChannelNumber(value: number, maxChannelNumber: number): boolean {
  return value >= MIN_CHANNEL_NUMBER && value <= maxChannelNumber;
}

/**
 * RFC 8656 §12.4: the application data of a ChannelData message, or undefined when the length
 * field claims more than arrived. Bytes past the length (stream padding) are not part of it.
 */
export function channelDataPayload(bytes: Buffer): Buffer | undefined {
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH) return undefined;
  const length = bytes.readUInt16BE(2);
  if (CHANNEL_DATA_HEADER_LENGTH + length > bytes.length) return undefined;
  return bytes.subarray(CHANNEL_DATA_HEADER_LENGTH, CHANNEL_DATA_HEADER_LENGTH + length);
}

/** The 4-byte header of a ChannelData message; over streams the caller pads the payload to 4 (§12.5). */
export function writeChannelDataHeader(target: Buffer, channelNumber: number, length: number): Buffer {
  target.writeUInt16BE(channelNumber, 0);
  target.writeUInt16BE(length, 2);
  return target;
}
