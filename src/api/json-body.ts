// Request bodies: JSON objects only, strict UTF-8, parse errors without the body in them
// (V8's JSON.parse messages quote the input, which could hold a key).
import type { Checked } from "./credential-request.js";
import { ApiRequestError } from "./http-errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** undefined for an empty body. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiRequestError(400, "request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiRequestError(400, "request body is not valid JSON");
  }
}

/** The body as an object with only `allowed` fields (an absent body is `{}`). */
export function readBodyFields(body: unknown, allowed: readonly string[]): Checked<Readonly<Record<string, unknown>>> {
  if (body === undefined) return { value: {} };
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { error: "request body must be a JSON object" };
  }
  const unknown = Object.keys(body).find((field) => !allowed.includes(field));
  if (unknown !== undefined) return { error: `unknown field in request body (allowed: ${allowed.join(", ")})` };
  return { value: body as Record<string, unknown> };
}
