// RFC 8489 §14: attribute values are padded to a multiple of 4 bytes.
export function padTo4(length: number): number {
  return (length + 3) & ~3;
}
