import type { StunAttributeView } from "./message.js";

/** The first attribute of `type`, by index: no closure and no iterator, on every request. */
export function findView(attributes: readonly StunAttributeView[], type: number): StunAttributeView | undefined {
  for (let i = 0; i < attributes.length; i++) if (attributes[i]!.type === type) return attributes[i];
  return undefined;
}
