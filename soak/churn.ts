// Allocations born and ended at a steady pace, half over UDP and half over TCP. Each one installs
// a permission (for Send indications) and a channel (for ChannelData), carries traffic, maybe
// refreshes, then ends: Refresh LIFETIME 0, or for TCP, half the time, a reset connection, which
// takes its allocation with it (RFC 8656 §3.1).
import type { TransportAddress } from "../src/stun/address.js";
import { Method } from "../src/stun/constants.js";
import { Traffic, type TrafficTarget } from "./traffic.js";
import { TurnConnection, type ClientTransport, type Credentials } from "./turn-connection.js";

export interface ChurnCounters {
  created: number;
  deleted: number;
  /** TCP connections reset with their allocation still live. */
  reset: number;
  refreshes: number;
  permissions: number;
  channels: number;
  /** Requests without a success response, connections lost, allocations that failed to start. */
  errors: number;
}

export interface ChurnPlan {
  readonly population: number;
  readonly packetsPerSecond: number;
  /** Mean life of one allocation; each lives 0.5 to 1.5 times this. */
  readonly meanLifeMs: number;
}

const UDP = { name: "REQUESTED-TRANSPORT", value: 17 } as const;
const LIFETIME_SECONDS = 600;
const MAX_OPENING = 8;
const ECHO_GRACE_MS = 300;
const FIRST_CHANNEL = 0x4000;

interface Session {
  readonly id: number;
  readonly transport: ClientTransport;
  connection: TurnConnection | undefined;
  carrying: boolean;
  packets: number;
}

export class Churn {
  readonly counters: ChurnCounters = { created: 0, deleted: 0, reset: 0, refreshes: 0, permissions: 0, channels: 0, errors: 0 };
  readonly errorSamples: string[] = [];
  readonly traffic: Traffic;
  private readonly sessions = new Map<number, Session>();
  private readonly running = new Set<Promise<void>>();
  private nextId = 0;
  private stopping = false;
  /** Wakes the sessions paused in their life; a Set, not a race on one long-lived promise, whose reactions would pile up. */
  private readonly wakers = new Set<() => void>();
  private maintainer: NodeJS.Timeout | undefined;
  private carrying: TrafficTarget[] = [];

  constructor(
    private readonly server: { host: string; port: number },
    private readonly credentials: Credentials,
    /** Two echo peers: one reached by Send indications, one through a channel. */
    private readonly peers: readonly [TransportAddress, TransportAddress],
    private readonly plan: ChurnPlan,
  ) {
    this.traffic = new Traffic(plan.packetsPerSecond, () => this.carrying);
  }

  /** Allocations the client holds (started and not ended), by transport. */
  live(): { udp: number; tcp: number } {
    let udp = 0;
    let tcp = 0;
    for (const session of this.sessions.values()) {
      if (session.connection === undefined) continue;
      if (session.transport === "udp") udp++;
      else tcp++;
    }
    return { udp, tcp };
  }

  start(): void {
    this.maintainer = setInterval(() => this.topUp(), 100);
    this.topUp();
    this.traffic.start();
  }

  private topUp(): void {
    const opening = [...this.sessions.values()].filter((s) => s.connection === undefined).length;
    let room = Math.min(this.plan.population - this.sessions.size, MAX_OPENING - opening);
    for (; room > 0 && !this.stopping; room--) {
      const id = this.nextId++;
      const session: Session = { id, transport: id % 2 === 0 ? "udp" : "tcp", connection: undefined, carrying: false, packets: 0 };
      this.sessions.set(id, session);
      const run = this.runSession(session).finally(() => {
        this.sessions.delete(id);
        this.running.delete(run);
        this.refreshCarrying();
      });
      this.running.add(run);
    }
  }

  private refreshCarrying(): void {
    this.carrying = [...this.sessions.values()].filter((s) => s.carrying).map((s) => this.targetOf(s));
  }

  private targetOf(session: Session): TrafficTarget {
    const channel = FIRST_CHANNEL + (session.id % 0x1000);
    return {
      send: (payload) => {
        const connection = session.connection;
        if (!session.carrying || connection === undefined || connection.closed) return false;
        if (session.packets++ % 2 === 0) connection.sendChannelData(channel, payload);
        else connection.sendIndication(this.peers[0], payload);
        return true;
      },
    };
  }

  private fail(where: string, error: unknown): void {
    this.counters.errors++;
    if (this.errorSamples.length < 10) this.errorSamples.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Resolves after `ms`, or at once when the churn stops. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private async runSession(session: Session): Promise<void> {
    let connection: TurnConnection;
    try {
      connection = await TurnConnection.open(session.transport, this.server, this.credentials, (payload) => this.traffic.receive(payload));
    } catch (error) {
      this.fail(`${session.transport} connect`, error);
      return;
    }
    let allocated = false;
    let endedByUs = false;
    connection.onClose = () => {
      if (!endedByUs) this.fail(`${session.transport} connection`, new Error("closed by the server"));
    };
    try {
      await connection.request(Method.Allocate, [UDP, { name: "LIFETIME", value: LIFETIME_SECONDS }]);
      allocated = true;
      this.counters.created++;
      session.connection = connection;
      await connection.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: this.peers[0] }]);
      this.counters.permissions++;
      const channel = FIRST_CHANNEL + (session.id % 0x1000);
      const bind = [{ name: "CHANNEL-NUMBER", value: channel }, { name: "XOR-PEER-ADDRESS", value: this.peers[1] }] as const;
      await connection.request(Method.ChannelBind, bind);
      this.counters.channels++;
      session.carrying = true;
      this.refreshCarrying();

      const lifeMs = this.plan.meanLifeMs * (0.5 + Math.random());
      await this.pause(lifeMs / 2);
      if (!this.stopping && session.id % 3 === 0) {
        await connection.request(Method.Refresh, [{ name: "LIFETIME", value: LIFETIME_SECONDS }]);
        this.counters.refreshes++;
      } else if (!this.stopping && session.id % 3 === 1) {
        // Refreshing a permission and a channel is asking for them again (RFC 8656 §9, §12).
        await connection.request(Method.CreatePermission, [{ name: "XOR-PEER-ADDRESS", value: this.peers[0] }]);
        await connection.request(Method.ChannelBind, bind);
        this.counters.refreshes += 2;
      }
      await this.pause(lifeMs / 2);

      session.carrying = false;
      this.refreshCarrying();
      await new Promise((resolve) => setTimeout(resolve, ECHO_GRACE_MS));
      endedByUs = true;
      if (session.transport === "tcp" && session.id % 4 === 1 && !this.stopping) {
        connection.close(true);
        this.counters.reset++;
      } else {
        await connection.request(Method.Refresh, [{ name: "LIFETIME", value: 0 }]);
        this.counters.deleted++;
        connection.close();
      }
    } catch (error) {
      this.fail(`${session.transport} allocation ${allocated ? "in use" : "start"}`, error);
      endedByUs = true;
      session.carrying = false;
      // Over TCP closing the connection ends the allocation; over UDP it may be left to its lifetime.
      connection.close();
    } finally {
      session.connection = undefined;
    }
  }

  /** Stops creating allocations and sending, then deletes every live allocation (Refresh LIFETIME 0). */
  async stop(timeoutMs = 20_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.maintainer);
    this.traffic.stop();
    for (const session of this.sessions.values()) session.carrying = false;
    this.refreshCarrying();
    for (const wake of [...this.wakers]) wake();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    for (const session of this.sessions.values()) session.connection?.close();
    this.traffic.settle();
  }
}
