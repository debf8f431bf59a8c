// coturn's pidfile: `turnpike start` writes its process id there, `turnpike reload` reads it.
import { randomBytes } from "node:crypto";
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
