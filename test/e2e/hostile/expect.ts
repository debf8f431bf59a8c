import { expect } from "vitest";
import { getAttribute, hasAttribute } from "../../../src/stun/attributes/registry.js";
import { MessageClass } from "../../../src/stun/constants.js";
import { methodOf } from "../../../src/stun/header.js";
import type { RunningServer } from "../../../src/server/server.js";
import type { Expected } from "./cases.js";
import { answersBinding, type RecordingLogger } from "./live.js";
import { nonZeroPadding, transactionIdOf, type Answer } from "./wire.js";

/** A response to `request` as the table expects it: same method and transaction, the outcome listed, zero padding. */
export function expectAnswer(request: Buffer, answer: Answer, expected: Expected): void {
  expect(transactionIdOf(answer.bytes)).toEqual(transactionIdOf(request));
  expect(answer.message.method).toBe(methodOf(request.readUInt16BE(0)));
  const outcome = answer.message.messageClass === MessageClass.SuccessResponse ? "success" : answer.code;
  expect(expected.outcome).toContain(outcome);
  // RFC 8489 §14: responses never carry stale bytes.
  expect(nonZeroPadding(answer.bytes)).toEqual([]);
  if (expected.unknownAttributes) expect(getAttribute(answer.message, "UNKNOWN-ATTRIBUTES")).toEqual(expected.unknownAttributes);
  if (expected.fingerprint !== undefined) expect(answer.message.hasFingerprint).toBe(expected.fingerprint);
  if (expected.lifetime !== undefined) expect(getAttribute(answer.message, "LIFETIME")).toBe(expected.lifetime);
  if (expected.sha256 !== undefined) expect(hasAttribute(answer.message, "MESSAGE-INTEGRITY-SHA256")).toBe(expected.sha256);
  if (expected.signed !== undefined) {
    expect(hasAttribute(answer.message, "MESSAGE-INTEGRITY") || hasAttribute(answer.message, "MESSAGE-INTEGRITY-SHA256")).toBe(expected.signed);
  }
}

export interface ProcessFaults {
  readonly uncaught: unknown[];
  readonly unhandled: unknown[];
}

/**
 * What every case of the list implies: no uncaught exception or unhandled rejection, nothing logged
 * at error level, Binding still answered. Each check reports only what happened since the last one.
 */
export function createHarmCheck(server: () => RunningServer, logger: RecordingLogger, faults: ProcessFaults): () => Promise<void> {
  let errorsSeen = 0;
  return async () => {
    const uncaught = faults.uncaught.splice(0);
    const unhandled = faults.unhandled.splice(0);
    const errors = logger.errors().slice(errorsSeen);
    errorsSeen += errors.length;
    expect(uncaught).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(errors).toEqual([]);
    expect(await answersBinding(server())).toBe(true);
  };
}
