// V8 keeps an object's hidden class only while some object has it. The first collection that finds
// none left drops the class, and with it the optimized code built on it ("embedded weak objects
// cleared" in --trace-deopt), which is compiled again the next time. A relay thread's heap trim
// (server/heap-trim.ts) is such a collection, and it comes just when every object of the kinds that
// live as long as a datagram, a request or an allocation is gone: the Buffer and the address that
// dgram makes for each datagram received, the errors that answer requests, Immediates, allocations
// with what they hold. Over two relay threads, 10,000 allocations then a trim deoptimized 71-99 code
// objects. One object of each such kind, kept here, holds its class: 9-11 were left, in Node's own
// timers and sends. (A request's context gets all its fields at once for the same reason: see
// dispatch.ts.)

const kept = new Map<string, object>();

/** Keeps `value` as the one object of its kind, unless one is kept already; true when it was kept. */
export function keepShape(kind: string, value: object): boolean {
  if (kept.has(kind)) return false;
  kept.set(kind, value);
  return true;
}

/** Lets the objects of these kinds go (a server that closes lets go of what its requests left here). */
export function forgetShapes(kinds: readonly string[]): void {
  for (const kind of kinds) kept.delete(kind);
}

/** What is kept, for tests. */
export function keptShape(kind: string): object | undefined {
  return kept.get(kind);
}

// An Immediate lives only until it runs. This one never runs; cleared, it holds no other.
const immediate = setImmediate(() => {});
clearImmediate(immediate);
keepShape("Immediate", immediate);
