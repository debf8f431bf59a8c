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

export function createConnectionCaps({ maxConnections, maxConnectionsPerIp }: ConnectionCapsOptions): ConnectionCaps {
  const perSubject = new Map<string, number>();
  let open = 0;
  return {
    admit(address) {
      const subject = limitSubject(address);
      const held = perSubject.get(subject) ?? 0;
      if (open >= maxConnections || held >= maxConnectionsPerIp) return undefined;
      open++;
      perSubject.set(subject, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
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
