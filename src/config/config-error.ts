/** Where a configuration value came from: a file and line, the command line, or the programmatic API. */
export interface ConfigLocation {
  readonly file?: string;
  readonly line?: number;
  /** True when the value came from a command-line flag. */
  readonly commandLine?: boolean;
}

/**
 * A configuration the server must not start with. The message is one line an operator can act on:
 * `turnserver.conf:12: unknown option "listenig-port" (did you mean "listening-port"?)`.
 */
export class ConfigError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly key?: string;
  /** The message without its location prefix. */
  readonly reason: string;

  constructor(reason: string, where: ConfigLocation & { readonly key?: string } = {}) {
    super(formatLocation(where) + reason);
    this.name = "ConfigError";
    this.reason = reason;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.key !== undefined) this.key = where.key;
  }
}

function formatLocation(where: ConfigLocation): string {
  if (where.file !== undefined) return where.line === undefined ? `${where.file}: ` : `${where.file}:${where.line}: `;
  if (where.commandLine === true) return "command line: ";
  return "";
}

/** The message of an error thrown by a parser or the file system, for wrapping into a ConfigError. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
