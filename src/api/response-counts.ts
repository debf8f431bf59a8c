// Responses of the HTTP endpoint by route and status code, for /metrics: what an operator looks at
// when clients are refused (401, 429) or the server says it is not ready (503). Routes are the
// registered patterns, never a raw URL, so the label set stays bounded.

export interface ResponseCount {
  readonly route: string;
  readonly code: string;
  readonly count: number;
}

export interface ResponseCounts {
  /** `route`: the matched route's pattern, undefined when none matched (a 404, or a 405 for a known path asked with another method). */
  record(route: string | undefined, statusCode: number): void;
  entries(): Iterable<ResponseCount>;
}

/** The route label of a request that matched no route. */
const UNMATCHED_ROUTE = "unmatched";

export function createResponseCounts(): ResponseCounts {
  const byRoute = new Map<string, Map<number, number>>();
  return {
    record(route, statusCode) {
      const key = route ?? UNMATCHED_ROUTE;
      let byCode = byRoute.get(key);
      if (byCode === undefined) byRoute.set(key, (byCode = new Map()));
      byCode.set(statusCode, (byCode.get(statusCode) ?? 0) + 1);
    },
    *entries() {
      for (const [route, byCode] of byRoute) for (const [code, count] of byCode) yield { route, code: String(code), count };
    },
  };
}
