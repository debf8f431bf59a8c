import type { Config } from "../config/config.js";
import type { ReservationClaimer } from "../turn/ports.js";
import type { Endpoint, ListenerInfo, RelayStats, ReservationRelease } from "./relay-node.js";
import type { RelayPortMapBuffers } from "../transport/relay-port-map.js";
import type { TlsMaterial } from "../transport/stream-listener.js";
import type { SharedQuotaBuffers } from "./shared-quota.js";

/** What a relay worker is started with (workerData). */
export interface WorkerStart {
  readonly index: number;
  /** Started (or restarted) while the server drains. */
  readonly draining: boolean;
  /** Restarted while the relay threads regroup (see RelayNode.setRegrouping). */
  readonly regrouping: boolean;
  readonly threadCount: number;
  readonly config: Config;
  readonly fixedPorts?: readonly ListenerInfo[];
  readonly extraOwnEndpoints: readonly Endpoint[];
  /** user-quota and total-quota, held in memory every relay thread shares. */
  readonly quota: SharedQuotaBuffers;
  /** max-tcp-connections-per-ip (as a per-user quota, keyed by address or /64) and max-tcp-connections, likewise. */
  readonly connections: SharedQuotaBuffers;
  readonly relayPorts: RelayPortMapBuffers;
  /** Usernames revoked before this thread started: it refuses them too. */
  readonly revoked: readonly string[];
  /** The certificate and key in force, when the pool has them: a restarted thread serves what the others do, and reads no file. */
  readonly tls?: TlsMaterial;
}

export type ToWorker =
  | { readonly type: "reload"; readonly id: number; readonly config: Config; readonly tls: TlsMaterial | undefined }
  | { readonly type: "revoke"; readonly id: number; readonly username: string }
  | { readonly type: "own-endpoints"; readonly endpoints: readonly Endpoint[] }
  | { readonly type: "reservation-release"; readonly id: number; readonly token: string; readonly claimer: ReservationClaimer }
  | { readonly type: "reservation-answer"; readonly id: number; readonly released: ReservationRelease }
  | { readonly type: "drain" }
  | { readonly type: "udp-groups"; readonly id: number; readonly join: boolean }
  | { readonly type: "regrouping"; readonly on: boolean }
  | { readonly type: "shutdown" };

export type FromWorker =
  | { readonly type: "started"; readonly listeners: readonly ListenerInfo[] }
  | { readonly type: "start-failed"; readonly message: string; readonly startup: boolean }
  | { readonly type: "stats"; readonly stats: RelayStats }
  | { readonly type: "revoked"; readonly id: number; readonly ended: number }
  | { readonly type: "reloaded"; readonly id: number }
  | { readonly type: "reservation-claim"; readonly id: number; readonly token: string; readonly claimer: ReservationClaimer }
  | { readonly type: "reservation-released"; readonly id: number; readonly released: ReservationRelease }
  | { readonly type: "log"; readonly line: string }
  | { readonly type: "udp-groups-done"; readonly id: number; readonly error?: string }
  | { readonly type: "closed" };
