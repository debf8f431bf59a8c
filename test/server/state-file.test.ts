import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultStateFilePath,
  loadOrCreateStateFile,
  pidfileNextTo,
  readStateFile,
  StateFileError,
  type TurnpikeState,
} from "../../src/server/state-file.js";
import { useTempDir } from "../config/temp-dir.js";

const temp = useTempDir();

const modeOf = (path: string): number => statSync(path).mode & 0o777;

async function stateError(run: () => Promise<unknown>): Promise<StateFileError> {
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StateFileError);
  return error as StateFileError;
}

function writeState(path: string, content: string, mode = 0o600): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
}

const VALID: TurnpikeState = { version: 1, staticAuthSecret: "Zebra-secret-0001", apiKey: "Zebra-key-0001", createdAt: "2026-01-01T00:00:00.000Z" };

describe("defaultStateFilePath", () => {
  it("is $XDG_STATE_HOME/turnpike/state.json when XDG_STATE_HOME is set", () => {
    expect(defaultStateFilePath({ env: { XDG_STATE_HOME: "/srv/state" }, homedir: "/home/ada" })).toBe("/srv/state/turnpike/state.json");
  });

  it("is ~/.local/state/turnpike/state.json otherwise", () => {
    expect(defaultStateFilePath({ env: {}, homedir: "/home/ada" })).toBe("/home/ada/.local/state/turnpike/state.json");
  });

  it("ignores an empty or relative XDG_STATE_HOME, as the XDG base directory spec says", () => {
    for (const XDG_STATE_HOME of ["", "state", "./state"]) {
      expect(defaultStateFilePath({ env: { XDG_STATE_HOME }, homedir: "/home/ada" })).toBe("/home/ada/.local/state/turnpike/state.json");
    }
  });

  it("puts the default pidfile next to the state file", () => {
    expect(pidfileNextTo("/srv/state/turnpike/state.json")).toBe("/srv/state/turnpike/turnpike.pid");
  });
});

describe("loadOrCreateStateFile", () => {
  it("creates a 0600 file in a new 0700 directory, with 32 random bytes each for the secret and the key, base64url", async () => {
    const path = join(temp.path(), "xdg", "turnpike", "state.json");
    const { state, created } = await loadOrCreateStateFile(path, { now: () => new Date("2026-03-04T05:06:07.000Z") });
    expect(created).toBe(true);
    expect(modeOf(join(temp.path(), "xdg", "turnpike"))).toBe(0o700);
    expect(modeOf(path)).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(state);
    expect(state).toMatchObject({ version: 1, createdAt: "2026-03-04T05:06:07.000Z" });
    for (const value of [state.staticAuthSecret, state.apiKey]) {
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(value, "base64url")).toHaveLength(32);
    }
    expect(state.staticAuthSecret).not.toBe(state.apiKey);
    // Written through a temporary file: none is left behind.
    expect(readdirSync(join(temp.path(), "xdg", "turnpike"))).toEqual(["state.json"]);
  });

  it("encodes the bytes it is given, secret first", async () => {
    let call = 0;
    const randomBytes = (size: number): Buffer => Buffer.alloc(size, ++call);
    const { state } = await loadOrCreateStateFile(join(temp.path(), "state.json"), { randomBytes });
    expect(state.staticAuthSecret).toBe(Buffer.alloc(32, 1).toString("base64url"));
    expect(state.apiKey).toBe(Buffer.alloc(32, 2).toString("base64url"));
  });

  it("reuses the file on the next start", async () => {
    const path = join(temp.path(), "turnpike", "state.json");
    const first = await loadOrCreateStateFile(path);
    const second = await loadOrCreateStateFile(path);
    expect(second).toEqual({ state: first.state, created: false });
  });

  it("reads a file written by hand, if it is private and well-formed", async () => {
    const path = join(temp.path(), "state.json");
    writeState(path, JSON.stringify(VALID));
    expect(await loadOrCreateStateFile(path)).toEqual({ state: VALID, created: false });
  });

  it("gives two starts racing to create it one and the same state", async () => {
    const path = join(temp.path(), "turnpike", "state.json");
    const results = await Promise.all([loadOrCreateStateFile(path), loadOrCreateStateFile(path), loadOrCreateStateFile(path)]);
    const onDisk = JSON.parse(readFileSync(path, "utf8")) as TurnpikeState;
    for (const result of results) expect(result.state).toEqual(onDisk);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(readdirSync(join(temp.path(), "turnpike"))).toEqual(["state.json"]);
  });

  it("leaves an existing directory's mode alone", async () => {
    const directory = join(temp.path(), "shared");
    mkdirSync(directory);
    chmodSync(directory, 0o755);
    await loadOrCreateStateFile(join(directory, "state.json"));
    expect(modeOf(directory)).toBe(0o755);
    expect(modeOf(join(directory, "state.json"))).toBe(0o600);
  });
});

describe("a state file that cannot be used is a clear error, never silently regenerated", () => {
  it.each([
    ["not JSON", "{ version: 1", "not valid JSON"],
    ["empty", "", "not valid JSON"],
    ["not an object", "[1]", "not a JSON object"],
    ["without a version", JSON.stringify({ ...VALID, version: undefined }), "no version"],
    ["of a newer version", JSON.stringify({ ...VALID, version: 2 }), "version 2, this turnpike reads version 1"],
    ["without a secret", JSON.stringify({ ...VALID, staticAuthSecret: undefined }), "staticAuthSecret is missing, empty or not printable text"],
    ["with an empty api key", JSON.stringify({ ...VALID, apiKey: "" }), "apiKey is missing, empty or not printable text"],
    ["with a control character in the key", JSON.stringify({ ...VALID, apiKey: "Zebra-key\u0001" }), "apiKey is missing, empty or not printable text"],
    ["without createdAt", JSON.stringify({ ...VALID, createdAt: 5 }), "createdAt is missing"],
  ])("refuses a file %s", async (_what, content, why) => {
    const path = join(temp.path(), "state.json");
    writeState(path, content);
    const error = await stateError(() => loadOrCreateStateFile(path));
    expect(error.message).toBe(`state file ${path} is damaged (${why}); restore it, or move it away to have new credentials generated`);
    expect(error.message).not.toContain("Zebra");
    expect(readFileSync(path, "utf8")).toBe(content);
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601])("refuses mode %s: group or others may reach the secrets", async (mode) => {
    const path = join(temp.path(), "state.json");
    const content = JSON.stringify(VALID);
    writeState(path, content, mode);
    const error = await stateError(() => loadOrCreateStateFile(path));
    expect(error.message).toBe(`state file ${path} is accessible to group or others (mode ${mode.toString(8)}); it holds secrets: chmod 600 ${path}`);
    expect(readFileSync(path, "utf8")).toBe(content);
    expect(modeOf(path)).toBe(mode);
  });

  it.each([0o600, 0o400, 0o700])("accepts owner-only mode %s", async (mode) => {
    const path = join(temp.path(), "state.json");
    writeState(path, JSON.stringify(VALID), mode);
    expect(await loadOrCreateStateFile(path)).toEqual({ state: VALID, created: false });
  });

  it("refuses a directory where the file should be", async () => {
    const path = join(temp.path(), "state.json");
    mkdirSync(path);
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(`state file ${path} is not a regular file`);
  });

  it("refuses a symbolic link, even to a private file, and changes nothing where it points (its advice would have been chmod on the target)", async () => {
    const target = join(temp.path(), "elsewhere.json");
    writeState(target, JSON.stringify(VALID), 0o644);
    const path = join(temp.path(), "state.json");
    symlinkSync(target, path);
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(`state file ${path} is a symbolic link; give the file's own path as state-file`);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    chmodSync(target, 0o600);
    expect((await stateError(() => readStateFile(path))).message).toBe(`state file ${path} is a symbolic link; give the file's own path as state-file`);
  });

  it("says why it cannot create the directory", async () => {
    const blocker = temp.write("not-a-directory", "");
    const path = join(blocker, "turnpike", "state.json");
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toMatch(/^cannot (create the state directory|read state file) .*not-a-directory/);
  });
});

describe("readStateFile", () => {
  it("is undefined when there is no file, and creates nothing", async () => {
    const path = join(temp.path(), "turnpike", "state.json");
    expect(await readStateFile(path)).toBeUndefined();
    expect(readdirSync(temp.path())).toEqual([]);
  });

  it("applies the same checks as loading", async () => {
    const path = join(temp.path(), "state.json");
    writeState(path, JSON.stringify(VALID), 0o640);
    await stateError(() => readStateFile(path));
    chmodSync(path, 0o600);
    expect(await readStateFile(path)).toEqual(VALID);
  });
});

describe("the state file's directory: no other user may replace or delete the file", () => {
  function directoryWithMode(mode: number): string {
    const directory = join(temp.path(), "state");
    mkdirSync(directory);
    chmodSync(directory, mode);
    return directory;
  }

  it.each(["777", "775", "770", "757", "730", "703"])("refuses a directory of mode %s, to create the file or to read it", async (octal) => {
    const mode = parseInt(octal, 8);
    const directory = directoryWithMode(mode);
    const path = join(directory, "state.json");
    const message = `state directory ${directory} is writable by group or others (mode ${octal}), who could replace or delete the state file: chmod go-w ${directory}, or give another state-file`;
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(message);
    expect(existsSync(path)).toBe(false);
    writeState(path, JSON.stringify(VALID));
    expect((await stateError(() => readStateFile(path))).message).toBe(message);
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(message);
  });

  it.each(["1777", "1770"])("accepts a sticky directory of mode %s, where only the file's owner may replace it", async (octal) => {
    const path = join(directoryWithMode(parseInt(octal, 8)), "state.json");
    const { created } = await loadOrCreateStateFile(path);
    expect(created).toBe(true);
    expect(await readStateFile(path)).toBeDefined();
  });

  it("refuses a state directory under one everyone may write to (not sticky), which would let anyone move it away", async () => {
    const open = directoryWithMode(0o777);
    const directory = join(open, "turnpike");
    const path = join(directory, "state.json");
    const message = `${open}, above the state directory, is writable by everyone (mode 777), who could move the state directory away: chmod o-w ${open}, or give another state-file`;
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(message);
    expect(existsSync(path)).toBe(false);
    chmodSync(open, 0o700);
    expect((await loadOrCreateStateFile(path)).created).toBe(true);
    chmodSync(open, 0o777);
    expect((await stateError(() => readStateFile(path))).message).toBe(message);
    // Group-writable above is allowed (a group per user makes ~/.local 0775), and so is a sticky one.
    chmodSync(open, 0o775);
    expect(await readStateFile(path)).toBeDefined();
    chmodSync(open, 0o1777);
    expect(await readStateFile(path)).toBeDefined();
  });

  it.each(["700", "755", "750"])("accepts a directory of mode %s", async (octal) => {
    const path = join(directoryWithMode(parseInt(octal, 8)), "state.json");
    expect((await loadOrCreateStateFile(path)).created).toBe(true);
  });

  // Only root can give a directory to another user.
  it.skipIf(process.getuid?.() !== 0)("refuses a directory that belongs to another user (not root)", async () => {
    const directory = directoryWithMode(0o755);
    chownSync(directory, 54321, 54321);
    const path = join(directory, "state.json");
    const message = `state directory ${directory} belongs to another user (uid 54321), who could replace or delete the state file: give a state-file in a directory of your own`;
    expect((await stateError(() => loadOrCreateStateFile(path))).message).toBe(message);
    expect(existsSync(path)).toBe(false);
  });
});
