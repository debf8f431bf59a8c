// The logger the CLI builds (src/server/logger.ts): JSON lines, redaction, log-file, levels.
import { mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, reopenLogFile, type Logger } from "../../src/server/logger.js";
import { useTempDir } from "../config/temp-dir.js";
import { until } from "../helpers/until.js";

const temp = useTempDir();

/** Flushes and closes the logger's file so the test can read it and leaves no descriptor open. */
async function closeLogger(logger: Logger): Promise<void> {
  const stream: unknown = Reflect.get(logger, pino.symbols.streamSym);
  if (typeof stream !== "object" || stream === null || !("end" in stream) || typeof stream.end !== "function") {
    throw new Error("logger has no closable stream");
  }
  const closable = stream as { end(): void; once(event: "close", listener: () => void): void };
  await new Promise<void>((resolve) => {
    closable.once("close", resolve);
    closable.end();
  });
}

function readLines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter((line) => line !== "");
}

describe("createLogger", () => {
  it("writes JSON lines to log-file", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "info", logFile: file });
    logger.info({ listeners: 2 }, "turnpike started");
    await closeLogger(logger);
    const [line] = readLines(file).map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({ level: 30, msg: "turnpike started", listeners: 2 });
    expect(typeof line?.time).toBe("string");
    // Created readable by its group at most: it names users and their addresses. (The umask may take more away.)
    expect(statSync(file).mode & 0o037).toBe(0);
  });

  it("appends to an existing log file", async () => {
    const file = temp.write("turnpike.log", '{"msg":"before"}\n');
    const logger = createLogger({ logLevel: "info", logFile: file });
    logger.info("after");
    await closeLogger(logger);
    expect(readLines(file)).toHaveLength(2);
  });

  it("redacts secrets by default, at the top level and one level down", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "info", logFile: file });
    logger.info(
      {
        password: "p1",
        secret: "s1",
        key: "k1",
        apiKey: "a1",
        credential: "c1",
        authorization: "Basic x",
        pkeyPassphrase: "pp",
        user: { name: "alice", password: "p2", secret: "s2", key: "k2", apiKey: "a2", credential: "c2", authorization: "Bearer y" },
        req: { headers: { authorization: "Bearer z", host: "example.org" } },
      },
      "credentials checked",
    );
    await closeLogger(logger);
    const text = readFileSync(file, "utf8");
    for (const secret of ["p1", "s1", "k1", "a1", "c1", "Basic x", "pp", "p2", "s2", "k2", "a2", "c2", "Bearer y", "Bearer z"]) {
      expect(text).not.toContain(`"${secret}"`);
    }
    const line = JSON.parse(text) as { user: { name: string; password: string }; req: { headers: { host: string } } };
    expect(line.user).toMatchObject({ name: "alice", password: "[redacted]" });
    expect(line.req.headers.host).toBe("example.org");
  });

  it("drops lines below log-level", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "warn", logFile: file });
    logger.info("quiet");
    logger.warn("loud");
    await closeLogger(logger);
    expect(readLines(file).map((text) => (JSON.parse(text) as { msg: string }).msg)).toEqual(["loud"]);
  });

  it("writes human-readable lines when asked for pretty output", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "info", logFile: file }, { pretty: true });
    logger.info({ port: 3478 }, "turnpike started");
    await closeLogger(logger);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/INFO.*turnpike started/);
    expect(text).toContain("port: 3478");
    expect(() => JSON.parse(text.split("\n")[0] ?? "")).toThrow();
  });

  it("fails at once, with the path and reason, when log-file cannot be opened", () => {
    const file = join(temp.path(), "missing", "turnpike.log");
    expect(() => createLogger({ logLevel: "info", logFile: file })).toThrow(`cannot open log-file ${file}: ENOENT`);
  });

  it("keeps every line, in order, across reopens of the same file (a reload with no rotation)", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "info", logFile: file });
    for (let i = 0; i < 15_000; i++) {
      logger.info({ i }, "line");
      if (i % 5_000 === 2_500) reopenLogFile(logger);
    }
    // Ended only once all is written: sonic-boom drops what it holds when ended while a reopen waits on a write.
    expect(await until(() => readLines(file).length === 15_000, 10_000)).toBe(true);
    await closeLogger(logger);
    const numbers = readLines(file).map((line) => (JSON.parse(line) as { i: number }).i);
    expect(numbers).toEqual(Array.from({ length: 15_000 }, (_, i) => i));
  });

  it("keeps the file it has when log-file cannot be opened again, and says so in it", async () => {
    const file = join(temp.path(), "turnpike.log");
    const logger = createLogger({ logLevel: "info", logFile: file });
    logger.info("before");
    renameSync(file, `${file}.1`);
    mkdirSync(file);
    reopenLogFile(logger);
    logger.info("after");
    await closeLogger(logger);
    expect(readLines(`${file}.1`).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      "before",
      "log-file not reopened; logging goes on to the file as it was open",
      "after",
    ]);
  });
});
