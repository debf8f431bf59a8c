// Where a browser says a request comes from: Origin (sent on every cross-origin request but a
// plain GET, no-cors ones included) and Sec-Fetch-Site (Fetch Metadata). Only a request without a
// key needs this: a page on another site cannot attach our bearer key without CORS allowing it.

/** The two headers as Node gives them (a repeated header is joined with ", "). */
export interface BrowserOriginHeaders {
  readonly origin?: string | readonly string[] | undefined;
  readonly "sec-fetch-site"?: string | readonly string[] | undefined;
}

/**
 * True when a web page on another site sent the request: its Origin is not one of
 * `allowedOrigins` (api-cors-origin), or, without Origin, Sec-Fetch-Site is anything but
 * same-origin or none (typed in the address bar). Clients that are not browsers send neither.
 */
export function isCrossSiteRequest(headers: BrowserOriginHeaders, allowedOrigins: ReadonlySet<string>): boolean {
  const { origin } = headers;
  if (origin !== undefined) return typeof origin !== "string" || !allowedOrigins.has(origin);
  const site = headers["sec-fetch-site"];
  return site !== undefined && site !== "same-origin" && site !== "none";
}
