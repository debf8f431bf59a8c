// coturn's pidfile: `turnpike start` writes its process id there, `turnpike reload` reads it.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { describeFsError } from "../config/validate-config.js";

/** Writes `pid` to `path` through a temporary file, so that a reader never sees half a number. */
export async function writePidfile(path: string, pid: number): Promise<void> {
  const temporary = `${path}.${pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, `${pid}\n`, { mode: 0o644, flag: "wx" });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new Error(`cannot write pidfile ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

/** Removes the pidfile if it still names `pid`: another turnpike may have started since and written its own. */
export async function removePidfile(path: string, pid: number): Promise<void> {
  const current = await readPidfile(path).catch(() => undefined);
  if (current === pid) await rm(path, { force: true });
}

/** The process id in `path`; throws an Error an operator can act on when there is none. */
export async function readPidfile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read pidfile ${path}: ${describeFsError(error)} (is turnpike running?)`, { cause: error });
  }
  const trimmed = text.trim();
  const pid = /^[1-9][0-9]{0,9}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(pid) || pid > 0x7fffffff) throw new Error(`pidfile ${path} holds no process id`);
  return pid;
}

/**
 * Refuses to start a second turnpike on a pidfile a running one holds: it would take the file over,
 * and remove it on exit, leaving the first one out of `turnpike reload`'s reach.
 */
export async function assertPidfileFree(path: string, ownPid: number, commandLineOf: (pid: number) => readonly string[] | undefined): Promise<void> {
  const pid = await readPidfile(path).catch(() => undefined);
  if (pid === undefined || pid === ownPid) return;
  const commandLine = commandLineOf(pid);
  if (commandLine !== undefined && isTurnpike(commandLine)) {
    throw new Error(`pidfile ${path} belongs to turnpike process ${pid}, which is running: give this server a pidfile of its own`);
  }
}

/** argv of process `pid` from /proc; undefined where there is no /proc or no such process (kill then says which). */
export function procCommandLine(pid: number): readonly string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((arg) => arg.length > 0);
  } catch {
    return undefined;
  }
}

/**
 * The turnpike binary: named `turnpike` in its process title (main.ts), or, as started, `turnpike` on
 * PATH, `node .../dist/cli/main.js`, npm start, with node options before the script.
 */
export function isTurnpike(commandLine: readonly string[]): boolean {
  const [program, ...args] = commandLine;
  if (program === undefined) return false;
  if (isTurnpikeScript(program)) return true;
  if (!/(^|\/)node(js)?[0-9]*$/.test(program)) return false;
  const script = scriptOf(args);
  return script !== undefined && isTurnpikeScript(script);
}

// node's options whose value may follow as the next argument.
const NODE_OPTIONS_WITH_VALUE = new Set([
  "-r",
  "--require",
  "--import",
  "--loader",
  "--experimental-loader",
  "--env-file",
  "--env-file-if-exists",
  "--title",
  "-C",
  "--conditions",
  "--input-type",
  "--disable-warning",
  "--unhandled-rejections",
  "--dns-result-order",
  "--watch-path",
  "--openssl-config",
  "--redirect-warnings",
  "--inspect-port",
  "--max-http-header-size",
]);

/** The script node runs: its first argument that is neither an option nor an option's value. */
function scriptOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return args[i + 1];
    if (!arg.startsWith("-")) return arg;
    if (NODE_OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return undefined;
}

function isTurnpikeScript(arg: string): boolean {
  return /(^|\/)turnpike$/.test(arg) || /(^|\/)cli\/main\.js$/.test(arg);
}

/** What a refusal may say about another process: its program's name, never its arguments (they may hold a secret). */
export function programName(commandLine: readonly string[]): string {
  const program = commandLine[0] ?? "";
  return program.slice(program.lastIndexOf("/") + 1) || "?";
}
