import { createLogBudget } from "../log-budget.js";
import { isInfoOn } from "../ports.js";
import type { TurnDeps } from "./turn-deps.js";

/**
 * Says, within a budget, that a peer was refused as a service of this host: a media server on the
 * same machine is refused by default too, and the operator should be able to learn why and what lets
 * it through. Called only once a peer has been refused.
 */
export function createHostServiceNotice(deps: Pick<TurnDeps, "peerPolicy" | "log" | "clock">): { noteIfHostService(address: string, port: number): void } {
  const budget = createLogBudget(deps.log, deps.clock, { perInterval: 5, intervalMs: 60_000 });
  return {
    noteIfHostService(address, port) {
      // On the Send path this runs per refused packet: nothing is parsed or formatted unless it may be logged.
      if (!isInfoOn(deps.log) || !deps.peerPolicy.isHostService(address, port)) return;
      budget.info(
        { peer: address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`, allowWith: `allowed-peer-ip=${address}` },
        "peer refused: a service of this host (its own address, outside min-port..max-port)",
      );
    },
  };
}
