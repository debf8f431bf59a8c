import { pino, type Logger } from "pino";

export interface RecordedLog {
  readonly level: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** Every field of the JSON line. */
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

const LEVEL_NAMES: Record<number, RecordedLog["level"]> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/**
 * A real pino logger (the server hands it to fastify too) whose JSON lines are kept in memory,
 * so tests can assert what was logged: nothing at error level, no secret, the lines they expect.
 */
export function createRecordingLogger(): Logger & { readonly records: RecordedLog[]; errors(): RecordedLog[]; text(): string } {
  const records: RecordedLog[] = [];
  const lines: string[] = [];
  const destination = {
    write(line: string): void {
      lines.push(line);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      records.push({ level: LEVEL_NAMES[parsed.level as number] ?? "info", obj: parsed, msg: String(parsed.msg ?? "") });
    },
  };
  const logger = pino({ level: "trace" }, destination);
  return Object.assign(logger, {
    records,
    errors: () => records.filter((r) => r.level === "error" || r.level === "fatal"),
    text: () => lines.join(""),
  });
}
