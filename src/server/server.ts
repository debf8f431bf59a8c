import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import type { Config } from "../config/config.js";
import type { IpFamily } from "../stun/address.js";
import { Method } from "../stun/constants.js";
import { ListenError } from "../transport/listen-error.js";
import { StreamListener } from "../transport/stream-listener.js";
import { UdpListener } from "../transport/udp-listener.js";
import { createDispatcher, type IndicationHandler, type RequestHandler } from "../turn/dispatch.js";
import { createBindingHandler } from "../turn/handlers/binding.js";
import type { Logger } from "../turn/ports.js";
import { resolveListeningAddresses } from "./listening-addresses.js";

export interface ListenerInfo {
  readonly transport: "udp" | "tcp" | "tls";
  readonly address: string;
  readonly port: number;
  readonly family: IpFamily;
}

export interface RunningServer {
  readonly listeners: readonly ListenerInfo[];
  close(): Promise<void>;
}

/** Why the server could not start, in one line an operator can act on. */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

interface Closable {
  close(): Promise<void>;
}

export async function startServer(config: Config, options: { logger: Logger }): Promise<RunningServer> {
  const log = options.logger;
  const tlsMaterial = config.cert && config.pkey && !config.noTls ? await readTlsMaterial(config.cert, config.pkey) : undefined;

  const requests = new Map<number, RequestHandler>([[Method.Binding, createBindingHandler({ mappedAddress: config.mappedAddress })]]);
  const indications = new Map<number, IndicationHandler>();
  const onPacket = createDispatcher({ requests, indications }, { fingerprint: config.fingerprint, log });

  const addresses = resolveListeningAddresses(config.listeningIps);
  if (addresses.length === 0) throw new StartupError("no address to listen on: set listening-ip");

  const open: Closable[] = [];
  const listeners: ListenerInfo[] = [];
  const idleTimeoutMs = config.streamIdleTimeoutSeconds * 1000;
  try {
    for (const { address, family } of addresses) {
      if (!config.noUdp) {
        const udp = await UdpListener.open({ address, port: config.listeningPort, family, onPacket, log });
        open.push(udp);
        listeners.push({ transport: "udp", address, port: udp.link.localPort, family });
      }
      if (!config.noTcp) {
        const tcp = await StreamListener.open({ transport: "tcp", address, port: config.listeningPort, family, idleTimeoutMs, onPacket, log });
        open.push(tcp);
        listeners.push({ transport: "tcp", address, port: tcp.port, family });
      }
      if (tlsMaterial) {
        const tls = await StreamListener.open({
          transport: "tls",
          address,
          port: config.tlsListeningPort,
          family,
          idleTimeoutMs,
          tls: tlsMaterial,
          onPacket,
          log,
        });
        open.push(tls);
        listeners.push({ transport: "tls", address, port: tls.port, family });
      }
    }
  } catch (error) {
    await Promise.all(open.map((listener) => listener.close()));
    if (error instanceof ListenError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
  if (listeners.length === 0) throw new StartupError("every listener is disabled (no-udp, no-tcp and no TLS)");

  let closing: Promise<void> | undefined;
  return {
    listeners,
    close() {
      closing ??= Promise.all(open.map((listener) => listener.close())).then(() => undefined);
      return closing;
    },
  };
}

async function readTlsMaterial(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
      throw new StartupError(`cannot read ${what} file ${path}: ${reason}`);
    }
  };
  const [cert, key] = await Promise.all([read("cert", certPath), read("pkey", keyPath)]);
  try {
    createSecureContext({ cert, key, minVersion: "TLSv1.2" });
  } catch (error) {
    throw new StartupError(`cannot use cert ${certPath} with pkey ${keyPath}: ${(error as Error).message}`);
  }
  return { cert, key };
}
