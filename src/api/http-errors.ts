import { STATUS_CODES } from "node:http";
import type { FastifyReply } from "fastify";

/** Every error answer: `{ statusCode, error, message }`, fastify's own shape. The message never holds a key or password. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
}

export function errorBody(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? "Error", message };
}

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).header("cache-control", "no-store").send(errorBody(statusCode, message));
}

/** A client error whose message is safe to send back as is. */
export class ApiRequestError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = "ApiRequestError";
    this.statusCode = statusCode;
  }
}
