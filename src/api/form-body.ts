// application/x-www-form-urlencoded bodies, for the draft route's POST (Janus sends its parameters
// so): parsed like the query string, so a repeated field or a value that is not UTF-8 gets 400.
import type { FastifyInstance } from "fastify";
import { BODY_LIMIT_BYTES } from "./configure-app.js";
import type { Checked } from "./credential-request.js";
import { ApiRequestError } from "./http-errors.js";
import { type ParsedQuery, parseQueryString } from "./query-string.js";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** In `scope` only: form bodies are parsed, any other body is 415. */
export function acceptOnlyFormBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "buffer", bodyLimit: BODY_LIMIT_BYTES },
    (request, body, done) => {
      try {
        if (!isUtf8Charset(request.headers["content-type"])) throw new ApiRequestError(415, "a form body must be UTF-8 (charset=utf-8, or no charset)");
        done(null, parseFormBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  scope.addContentTypeParser("*", (_request, _payload, done) => {
    done(new ApiRequestError(415, "request body must be application/x-www-form-urlencoded"), undefined);
  });
}

/** True without a charset parameter (UTF-8, as the WHATWG URL standard reads forms) or with utf-8. */
function isUtf8Charset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? "")?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

export function parseFormBody(body: Buffer): ParsedQuery {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiRequestError(400, "request body is not valid UTF-8");
  }
  return parseQueryString(text);
}

/** The query's parameters and the body's; one given in both must have the same values in both. */
export function mergeParameters(query: ParsedQuery, body: ParsedQuery): Checked<ParsedQuery> {
  const merged: Record<string, readonly (string | null)[]> = Object.assign(Object.create(null) as object, query);
  for (const [name, values] of Object.entries(body)) {
    const inQuery = query[name];
    if (inQuery !== undefined && (inQuery.length !== values.length || inQuery.some((value, i) => value !== values[i]))) {
      return { error: `${name} differs between the query string and the request body` };
    }
    merged[name] = values;
  }
  return { value: merged };
}
