import type { Logger } from "../../src/turn/ports.js";

export interface RecordedLog {
  readonly level: "trace" | "debug" | "info" | "warn" | "error";
  readonly obj: object;
  readonly msg: string;
}

/** A Logger that keeps what it is told, so tests can assert that nothing was logged at error level. */
export function createRecordingLogger(): Logger & { readonly records: RecordedLog[]; errors(): RecordedLog[] } {
  const records: RecordedLog[] = [];
  const at =
    (level: RecordedLog["level"]) =>
    (obj: object, msg: string): void => {
      records.push({ level, obj, msg });
    };
  return {
    records,
    errors: () => records.filter((r) => r.level === "error"),
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}
