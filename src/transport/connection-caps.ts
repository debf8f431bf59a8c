import { limitSubject } from "./limit-subject.js";

/**
 * max-tcp-connections and max-tcp-connections-per-ip for every stream listener of a relay thread
 * together, TCP and TLS on every listening address: one count, shared.
 */
export interface ConnectionCaps {
  /** Counts a connection from `address`; undefined (nothing counted) when a cap is reached, else what gives it back. */
  admit(address: string): (() => void) | undefined;
  /** Connections counted now. */
  readonly openCount: number;
  /** Addresses (IPv4) and /64s (IPv6) holding at least one. */
  readonly subjectCount: number;
}

export interface ConnectionCapsOptions {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

/**
 * Where several relay threads share the listening ports, the caps are counted in memory they all share
 * (server/shared-quota, its per-user count keyed by the address or /64 instead): the kernel spreads one
 * address's connections over the threads as it likes, so no share of a cap per thread would be exact.
 */
export interface SharedConnectionCount {
  /** "ok" when a connection from `subject` is counted; anything else refuses it. */
  reserve(subject: string): string;
  release(subject: string): void;
}

export function createConnectionCaps({ maxConnections, maxConnectionsPerIp }: ConnectionCapsOptions, shared?: SharedConnectionCount): ConnectionCaps {
  const perSubject = new Map<string, number>();
  let open = 0;
  return {
    admit(address) {
      const subject = limitSubject(address);
      const held = perSubject.get(subject) ?? 0;
      if (shared === undefined ? open >= maxConnections || held >= maxConnectionsPerIp : shared.reserve(subject) !== "ok") return undefined;
      open++;
      perSubject.set(subject, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        shared?.release(subject);
        open--;
        const left = (perSubject.get(subject) ?? 1) - 1;
        if (left > 0) perSubject.set(subject, left);
        else perSubject.delete(subject);
      };
    },
    get openCount() {
      return open;
    },
    get subjectCount() {
      return perSubject.size;
    },
  };
}
