// Separates what the CLI handles itself (-c FILE, --help, a command's own options) from the options handed to loadConfig.
import { resolveKey, takesSeparateValue } from "../config/resolve-key.js";
import { UsageError } from "./usage-error.js";

export interface CommandArgs {
  readonly file?: string;
  readonly help: boolean;
  /** Everything else, verbatim, for loadConfig's `args`. */
  readonly optionArgs: readonly string[];
  /** The command's own options (`credentials --user alice`), by name without dashes. */
  readonly commandOptions: Readonly<Record<string, string>>;
}

/**
 * `commandOptionNames` are options of the command itself, each taking a value (`--ttl 600`, `--ttl=600`);
 * they take precedence over a config option of the same name (`credentials --user` is not the static-user `user`).
 */
export function splitCommandArgs(args: readonly string[], commandOptionNames: readonly string[] = []): CommandArgs {
  let file: string | undefined;
  let help = false;
  const optionArgs: string[] = [];
  const commandOptions: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const inline = /^(?:-c|--config)=(.*)$/s.exec(arg);
    const own = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const ownName = own !== null && commandOptionNames.includes(own[1] ?? "") ? (own[1] ?? "") : undefined;
    if (arg === "-c" || arg === "--config" || inline !== null) {
      const value = inline === null ? args[++i] : inline[1];
      if (value === undefined || value === "") throw new UsageError(`${inline === null ? arg : arg.slice(0, arg.indexOf("="))} needs a file name`);
      if (file !== undefined) throw new UsageError("only one configuration file may be given");
      file = value;
    } else if (arg === "-h" || arg === "--help") {
      help = true;
    } else if (ownName !== undefined) {
      // Not echoed: a value meant for the config's `user` option would hold a password.
      const value = own?.[2] ?? args[++i];
      if (value === undefined || (own?.[2] === undefined && value.startsWith("--"))) throw new UsageError(`--${ownName} needs a value`);
      if (Object.hasOwn(commandOptions, ownName)) throw new UsageError(`--${ownName} is given twice`);
      commandOptions[ownName] = value;
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
  return file === undefined ? { help, optionArgs, commandOptions } : { file, help, optionArgs, commandOptions };
}
