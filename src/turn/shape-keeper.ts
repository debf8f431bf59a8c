// V8 keeps an object's hidden class only while some object has it. The first collection that finds
// none left drops the class, and with it the optimized code built on it ("embedded weak objects
// cleared" in --trace-deopt), which is compiled again the next time. A relay thread's heap trim
// (server/heap-trim.ts) is such a collection, and it comes just when every object of the kinds that
// live as long as a datagram, a request or an allocation is gone: the Buffer and the address that
// dgram makes for each datagram received, the errors that answer requests, the allocations with
// their relay sockets, permissions and channels. Each trim deoptimized about 50 functions of the
// request path per relay thread. One object of each such kind, kept here for good, holds its class:
// 9 remained, in Node's own timers and sends.

const kept = new Map<string, object>();

/** Keeps `value` as the one object of its kind, unless one is kept already. */
export function keepShape(kind: string, value: object): void {
  if (!kept.has(kind)) kept.set(kind, value);
}

/** What is kept, for tests. */
export function keptShape(kind: string): object | undefined {
  return kept.get(kind);
}
