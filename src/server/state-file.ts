// The state file: the REST secret and API key `turnpike start` generates when given no credentials,
// kept private (0600, in a directory no other user can write to; 0700 when turnpike makes it) and
// reused on every later start. Never silently replaced.
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import { chmod, link, lstat, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { describeFsError } from "../config/validate-config.js";

export const STATE_FILE_VERSION = 1;

export interface TurnpikeState {
  readonly version: typeof STATE_FILE_VERSION;
  /** Signs REST credentials: the server's only static-auth-secret. */
  readonly staticAuthSecret: string;
  /** Bearer key of the credential endpoint. */
  readonly apiKey: string;
  /** ISO 8601 instant the file was made. */
  readonly createdAt: string;
}

/** The state file cannot be used as it is; the operator must look at it: exit 1, nothing regenerated. */
export class StateFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateFileError";
  }
}

export interface StateFileEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
}

/** `$XDG_STATE_HOME/turnpike/state.json`, else `~/.local/state/turnpike/state.json` (a relative XDG_STATE_HOME is ignored, as the XDG spec says). */
export function defaultStateFilePath({ env, homedir }: StateFileEnvironment): string {
  const xdg = env["XDG_STATE_HOME"];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir, ".local", "state");
  return join(base, "turnpike", "state.json");
}

/** Where `turnpike start` with generated credentials writes its pidfile, unless pidfile is set. */
export function pidfileNextTo(stateFile: string): string {
  return join(dirname(stateFile), "turnpike.pid");
}

// Group and other bits: a secret readable (or replaceable) by anyone but the owner is refused.
const NOT_OWNER_ONLY = 0o077;
const WRITABLE_BY_GROUP_OR_OTHERS = 0o022;
const WRITABLE_BY_OTHERS = 0o002;
// In a sticky directory (/tmp) only a file's owner may rename or delete it.
const STICKY = 0o1000;

/** The state in `path`; undefined when there is no such file. Throws StateFileError for anything else wrong with it. */
export async function readStateFile(path: string): Promise<TurnpikeState | undefined> {
  if (!(await checkStateDirectory(path))) return undefined;
  let text: string;
  try {
    // Not followed: the advice below (chmod) would land on whatever the link points to, /etc/passwd say.
    const info = await lstat(path);
    if (info.isSymbolicLink()) throw new StateFileError(`state file ${path} is a symbolic link; give the file's own path as state-file`);
    if (!info.isFile()) throw new StateFileError(`state file ${path} is not a regular file`);
    if ((info.mode & NOT_OWNER_ONLY) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, "0");
      throw new StateFileError(`state file ${path} is accessible to group or others (mode ${mode}); it holds secrets: chmod 600 ${path}`);
    }
    const uid = process.getuid?.();
    if (uid !== undefined && info.uid !== uid) {
      throw new StateFileError(`state file ${path} belongs to another user (uid ${info.uid}); run turnpike as its owner, or give another state-file`);
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    if (codeOf(error) === "ENOENT") return undefined;
    throw new StateFileError(`cannot read state file ${path}: ${describeFsError(error)}`, { cause: error });
  }
  return parseState(text, path);
}

export interface CreateStateOptions {
  readonly now?: () => Date;
  readonly randomBytes?: (size: number) => Buffer;
}

export interface LoadedState {
  readonly state: TurnpikeState;
  /** True when this call made the file. */
  readonly created: boolean;
}

/** Reads the state file, or makes it (and its directory) when there is none. */
export async function loadOrCreateStateFile(path: string, options: CreateStateOptions = {}): Promise<LoadedState> {
  const existing = await readStateFile(path);
  if (existing !== undefined) return { state: existing, created: false };
  const random = options.randomBytes ?? cryptoRandomBytes;
  const state: TurnpikeState = {
    version: STATE_FILE_VERSION,
    staticAuthSecret: random(32).toString("base64url"),
    apiKey: random(32).toString("base64url"),
    createdAt: (options.now?.() ?? new Date()).toISOString(),
  };
  await makePrivateDirectory(dirname(path));
  await checkStateDirectory(path);
  const won = await writeNewFile(path, `${JSON.stringify(state, null, 2)}\n`);
  if (won) return { state, created: true };
  // Another turnpike made it between our read and our write: use theirs, so both run with one secret.
  const theirs = await readStateFile(path);
  if (theirs === undefined) throw new StateFileError(`state file ${path} disappeared while it was being created`);
  return { state: theirs, created: false };
}

/**
 * Refuses a directory in which another user could replace or delete the state file: writable by group
 * or others without the sticky bit, or owned by someone other than this user or root; or under a
 * directory that everyone may write to without the sticky bit (anyone could rename the state
 * directory away). Group-writable directories above are allowed: distributions with a group per user
 * make ~/.local 0775. False when the directory does not exist.
 */
async function checkStateDirectory(path: string): Promise<boolean> {
  const directory = dirname(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(directory);
  } catch (error) {
    if (codeOf(error) === "ENOENT") return false;
    throw new StateFileError(`cannot read state file ${path}: ${describeFsError(error)}`, { cause: error });
  }
  if (!info.isDirectory()) throw new StateFileError(`cannot read state file ${path}: ${directory} is not a directory`);
  if ((info.mode & WRITABLE_BY_GROUP_OR_OTHERS) !== 0 && (info.mode & STICKY) === 0) {
    const mode = (info.mode & 0o7777).toString(8).padStart(3, "0");
    throw new StateFileError(
      `state directory ${directory} is writable by group or others (mode ${mode}), who could replace or delete the state file: chmod go-w ${directory}, or give another state-file`,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    throw new StateFileError(
      `state directory ${directory} belongs to another user (uid ${info.uid}), who could replace or delete the state file: give a state-file in a directory of your own`,
    );
  }
  for (let above = dirname(resolve(directory)); ; above = dirname(above)) {
    const mode = (await stat(above)).mode;
    if ((mode & WRITABLE_BY_OTHERS) !== 0 && (mode & STICKY) === 0) {
      const octal = (mode & 0o7777).toString(8).padStart(3, "0");
      throw new StateFileError(
        `${above}, above the state directory, is writable by everyone (mode ${octal}), who could move the state directory away: chmod o-w ${above}, or give another state-file`,
      );
    }
    if (above === dirname(above)) return true;
  }
}

async function makePrivateDirectory(directory: string): Promise<void> {
  try {
    // mkdir's mode passes through the umask; chmod makes the directory we created 0700 whatever the umask.
    const created = await mkdir(directory, { recursive: true, mode: 0o700 });
    if (created !== undefined) await chmod(directory, 0o700);
  } catch (error) {
    throw new StateFileError(`cannot create the state directory ${directory}: ${describeFsError(error)}`, { cause: error });
  }
}

/**
 * Writes a temporary file (0600) and links it into place: the state file appears whole or not at all,
 * and never replaces one made meanwhile (link fails with EEXIST where rename would overwrite).
 * Returns false when the file already existed. Falls back to rename where hard links are not supported.
 */
async function writeNewFile(path: string, text: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${cryptoRandomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temporary, path);
    } catch (error) {
      const code = codeOf(error);
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
      await rename(temporary, path);
    }
    return true;
  } catch (error) {
    throw new StateFileError(`cannot write state file ${path}: ${describeFsError(error)}`, { cause: error });
  } finally {
    await rm(temporary, { force: true });
  }
}

function parseState(text: string, path: string): TurnpikeState {
  const corrupt = (why: string): StateFileError =>
    new StateFileError(`state file ${path} is damaged (${why}); restore it, or move it away to have new credentials generated`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt("not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw corrupt("not a JSON object");
  const record = parsed as Record<string, unknown>;
  if (record["version"] !== STATE_FILE_VERSION) {
    throw corrupt(typeof record["version"] === "number" ? `version ${record["version"]}, this turnpike reads version ${STATE_FILE_VERSION}` : "no version");
  }
  const staticAuthSecret = record["staticAuthSecret"];
  const apiKey = record["apiKey"];
  const createdAt = record["createdAt"];
  // The values are never echoed: they are the secrets.
  if (!isSecret(staticAuthSecret)) throw corrupt("staticAuthSecret is missing, empty or not printable text");
  if (!isSecret(apiKey)) throw corrupt("apiKey is missing, empty or not printable text");
  if (typeof createdAt !== "string") throw corrupt("createdAt is missing");
  return { version: STATE_FILE_VERSION, staticAuthSecret, apiKey, createdAt };
}

function isSecret(value: unknown): value is string {
  return typeof value === "string" && value !== "" && !/[\u0000-\u001f\u007f]/.test(value);
}

function codeOf(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
