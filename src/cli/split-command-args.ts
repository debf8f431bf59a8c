// Separates what the CLI handles itself (-c FILE, --help) from the options handed to loadConfig.
import { resolveKey, takesSeparateValue } from "../config/resolve-key.js";
import { UsageError } from "./usage-error.js";

export interface CommandArgs {
  readonly file?: string;
  readonly help: boolean;
  /** Everything else, verbatim, for loadConfig's `args`. */
  readonly optionArgs: readonly string[];
}

export function splitCommandArgs(args: readonly string[]): CommandArgs {
  let file: string | undefined;
  let help = false;
  const optionArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const inline = /^(?:-c|--config)=(.*)$/s.exec(arg);
    if (arg === "-c" || arg === "--config" || inline !== null) {
      const value = inline === null ? args[++i] : inline[1];
      if (value === undefined || value === "") throw new UsageError(`${inline === null ? arg : arg.slice(0, arg.indexOf("="))} needs a file name`);
      if (file !== undefined) throw new UsageError("only one configuration file may be given");
      file = value;
    } else if (arg === "-h" || arg === "--help") {
      help = true;
    } else {
      optionArgs.push(arg);
      // `--realm -c` names a realm; keep an option's separate value with it rather than reading it here.
      const resolved = arg.startsWith("--") && !arg.includes("=") ? resolveKey(arg.slice(2)) : undefined;
      const next = args[i + 1];
      if (resolved !== undefined && takesSeparateValue(resolved) && next !== undefined && !next.startsWith("--")) {
        optionArgs.push(next);
        i++;
      }
    }
  }
  return file === undefined ? { help, optionArgs } : { file, help, optionArgs };
}
