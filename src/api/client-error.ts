// Requests Node's HTTP parser refuses, or that time out before they are whole: answered as fastify
// would (400, 408 or 431) in our error shape, and logged by code only. Such an error's rawPacket
// holds the raw request line and headers, a ?key= or Authorization included, so neither the error
// nor any part of the request is ever logged.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { errorBody } from "./http-errors.js";

export function createClientErrorHandler(logger: Logger): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    // https://nodejs.org/api/http.html#event-clienterror: a reset connection needs nothing more.
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const [statusCode, message] = answerFor(error.code);
    logger.trace({ code: error.code, statusCode }, "api client error");
    if (socket.writable) {
      const answer = errorBody(statusCode, message);
      const body = JSON.stringify(answer);
      socket.write(
        `HTTP/1.1 ${statusCode} ${answer.error}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

function answerFor(code: string | undefined): [statusCode: number, message: string] {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "the request took too long to arrive"];
    case "HPE_HEADER_OVERFLOW":
      return [431, "request headers are too large"];
    default:
      return [400, "malformed request"];
  }
}
