// Binding requests/s: a window of requests in flight per socket, each answer sends the next one;
// a socket that hears nothing for a while counts its window as lost and sends a fresh one.
import { randomBytes } from "node:crypto";
import { encodeMessage, MessageClass, Method } from "../../src/stun/index.js";
import { connectUdp } from "./connected-udp.js";
import { sleep } from "./timing.js";
import type { TurnServerAddress } from "./turn-session.js";

export interface BindingFloodOptions {
  readonly sockets: number;
  readonly windowPerSocket: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface BindingFloodResult {
  readonly answersPerSecond: number;
  readonly answered: number;
  readonly sent: number;
}

// RFC 8489 §5: Binding success response type.
const BINDING_SUCCESS = 0x0101;
const SILENCE_MS = 100;

export async function runBindingFlood(server: TurnServerAddress, options: BindingFloodOptions): Promise<BindingFloodResult> {
  let answered = 0;
  let sent = 0;
  let running = true;
  const sockets = await Promise.all(Array.from({ length: options.sockets }, () => connectUdp(server)));
  const states = sockets.map((socket) => {
    const requests = Array.from({ length: options.windowPerSocket }, () =>
      encodeMessage({ method: Method.Binding, messageClass: MessageClass.Request, transactionId: randomBytes(12), attributes: [] }),
    );
    const state = { socket, requests, next: 0, inFlight: 0, lastHeardAt: performance.now() };
    socket.on("message", (bytes) => {
      if (bytes.length < 20 || bytes.readUInt16BE(0) !== BINDING_SUCCESS) return;
      answered++;
      state.inFlight = Math.max(0, state.inFlight - 1);
      state.lastHeardAt = performance.now();
      fill(state);
    });
    return state;
  });
  function fill(state: (typeof states)[number]): void {
    while (running && state.inFlight < options.windowPerSocket) {
      state.socket.send(state.requests[state.next++ % state.requests.length]!);
      state.inFlight++;
      sent++;
    }
  }
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const state of states) {
      if (state.inFlight > 0 && now - state.lastHeardAt > SILENCE_MS) {
        state.inFlight = 0;
        state.lastHeardAt = now;
        fill(state);
      }
    }
  }, SILENCE_MS / 2);

  try {
    for (const state of states) fill(state);
    await sleep(options.warmupMs);
    const answeredAtStart = answered;
    const startedAt = performance.now();
    await sleep(options.durationMs);
    const count = answered - answeredAtStart;
    const seconds = (performance.now() - startedAt) / 1000;
    return { answersPerSecond: count / seconds, answered: count, sent };
  } finally {
    running = false;
    clearInterval(watchdog);
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }
}

