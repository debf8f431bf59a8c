/** A socket could not be opened; the message is one line an operator can act on. */
export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(transport: string, address: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot listen on ${transport} ${formatHostPort(address, port)}: ${describeErrno(code, cause)}`);
    this.name = "ListenError";
    this.code = code;
  }
}

export function formatHostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One operator-facing line for why a socket could not listen. */
export function describeListenFailure(cause: unknown): string {
  return describeErrno((cause as NodeJS.ErrnoException | undefined)?.code, cause);
}

function describeErrno(code: string | undefined, cause: unknown): string {
  switch (code) {
    case "EADDRINUSE":
      return "address already in use";
    case "EADDRNOTAVAIL":
      return "address not available on this host";
    case "EACCES":
      return "permission denied (ports below 1024 need privileges)";
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}
