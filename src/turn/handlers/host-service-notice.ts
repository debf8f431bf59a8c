import { createLogBudget } from "../log-budget.js";
import { isInfoOn } from "../ports.js";
import type { TurnDeps } from "./turn-deps.js";

const HOST_SERVICE_REFUSED = "peer refused: a service of this host (its own address, outside min-port..max-port)";

/**
 * Says, within a budget, that a peer was refused as a service of this host: a media server on the
 * same machine is refused by default too, and the operator should be able to learn why and what lets
 * it through. Called only once a peer has been refused.
 */
export function createHostServiceNotice(deps: Pick<TurnDeps, "peerPolicy" | "log" | "clock">): { noteIfHostService(address: string, port: number): void } {
  const budget = createLogBudget(deps.log, deps.clock, { perInterval: 5, intervalMs: 60_000 });
  return {
    noteIfHostService(address, port) {
      // On the Send path this runs per refused packet: the address is parsed only with info on, and the
      // line's fields are built only when the budget lets it be written.
      if (!isInfoOn(deps.log) || !deps.peerPolicy.isHostService(address, port) || !budget.admitsInfo(HOST_SERVICE_REFUSED)) return;
      deps.log.info({ peer: address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`, allowWith: `allowed-peer-ip=${address}` }, HOST_SERVICE_REFUSED);
    },
  };
}
