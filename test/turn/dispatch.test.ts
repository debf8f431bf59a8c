import { describe, expect, it } from "vitest";
import { ErrorCode, MessageClass, Method } from "../../src/stun/constants.js";
import { verifyMessageIntegrity } from "../../src/stun/integrity.js";
import { decodeMessage, encodeMessage } from "../../src/stun/message.js";
import { createTurnCounters } from "../../src/turn/counters.js";
import { createDispatcher, type RequestContext, type RequestHandler } from "../../src/turn/dispatch.js";
import { StunError } from "../../src/turn/stun-error.js";
import { FakeLink } from "../helpers/fakes.js";
import { createRecordingLogger } from "../helpers/logger.js";
import { errorCode } from "../helpers/turn-messages.js";

const KEY = Buffer.alloc(16, 9);
const TRANSACTION_ID = Buffer.alloc(12, 5);
const REQUEST = encodeMessage({ method: Method.Refresh, messageClass: MessageClass.Request, transactionId: TRANSACTION_ID, attributes: [] });
const failure = () => new StunError(ErrorCode.Unauthenticated, "no MESSAGE-INTEGRITY", [{ name: "REALM", value: "example.org" }]);
const signing = (ctx: RequestContext): void => {
  ctx.integrity = { key: KEY, algorithm: "sha1" };
};

/** What one request gets back from a dispatcher whose Refresh handler is `handler`, and the error responses counted. */
async function answerTo(handler: RequestHandler): Promise<{ bytes: Buffer[]; errorResponses: Record<number, number> }> {
  const counters = createTurnCounters();
  const handle = createDispatcher(
    { requests: new Map([[Method.Refresh, handler]]), indications: new Map() },
    { fingerprint: false, maxChannelNumber: 0x4fff, counters, log: createRecordingLogger() },
  );
  const link = new FakeLink();
  handle(REQUEST, "198.51.100.7", 40000, link);
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return { bytes: link.take().map((d) => d.data), errorResponses: { ...counters.errorResponses } };
}

describe("dispatch: a StunError a handler returns is answered as one it throws", () => {
  const cases: [string, RequestHandler, RequestHandler][] = [
    [
      "unsigned, in the same turn",
      () => failure(),
      () => {
        throw failure();
      },
    ],
    [
      "signed, in the same turn",
      (ctx) => (signing(ctx), failure()),
      (ctx) => {
        signing(ctx);
        throw failure();
      },
    ],
    ["unsigned, from a promise", () => Promise.resolve(failure()), () => Promise.reject(failure())],
    ["signed, from a promise", (ctx) => (signing(ctx), Promise.resolve(failure())), (ctx) => (signing(ctx), Promise.reject(failure()))],
  ];

  it.each(cases)("%s: the same bytes and the same count", async (_name, returning, throwing) => {
    const returned = await answerTo(returning);
    const thrown = await answerTo(throwing);
    expect(returned.bytes).toHaveLength(1);
    expect(returned.bytes[0]!.equals(thrown.bytes[0]!)).toBe(true);
    expect(returned.errorResponses).toEqual({ [ErrorCode.Unauthenticated]: 1 });
    expect(thrown.errorResponses).toEqual(returned.errorResponses);
    const response = decodeMessage(returned.bytes[0]!);
    expect(response.messageClass).toBe(MessageClass.ErrorResponse);
    expect(errorCode(response)).toBe(401);
  });

  it("signs a returned error with the key the request authenticated with, and leaves an unsigned one unsigned", async () => {
    const signed = decodeMessage((await answerTo((ctx) => (signing(ctx), failure()))).bytes[0]!);
    const unsigned = decodeMessage((await answerTo(() => failure())).bytes[0]!);
    expect(verifyMessageIntegrity(signed, KEY)).toBe(true);
    expect(verifyMessageIntegrity(unsigned, KEY)).toBe(false);
  });
});

describe("dispatch: clientMessages", () => {
  it("counts every datagram handed to it, whatever becomes of it: answered, unanswered, indication, ChannelData, junk, empty", () => {
    const counters = createTurnCounters();
    let channelData = 0;
    let indications = 0;
    const handle = createDispatcher(
      {
        requests: new Map<number, RequestHandler>([[Method.Refresh, () => ({ attributes: [] })]]),
        indications: new Map([[Method.Send, () => void indications++]]),
        channelData: () => void channelData++,
      },
      { fingerprint: false, maxChannelNumber: 0x4fff, counters, log: createRecordingLogger() },
    );
    const link = new FakeLink();
    const send = encodeMessage({ method: Method.Send, messageClass: MessageClass.Indication, transactionId: TRANSACTION_ID, attributes: [] });
    const binding = encodeMessage({ method: Method.Binding, messageClass: MessageClass.Request, transactionId: TRANSACTION_ID, attributes: [] });
    const packets = [REQUEST, binding, send, Buffer.from([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]), Buffer.from([0xff, 0xee]), REQUEST.subarray(0, 7), Buffer.alloc(0)];
    for (const packet of packets) handle(packet, "198.51.100.7", 40000, link);
    handle(REQUEST, "198.51.100.7", 0, link);
    expect(counters.clientMessages).toBe(packets.length + 1);
    expect(link.take()).toHaveLength(1); // the Refresh; no handler for Binding here, the rest go unanswered
    expect([indications, channelData]).toEqual([1, 1]);
  });
});
