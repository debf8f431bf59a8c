// pino, configured once: JSON lines to a file or stdout, pretty lines on a terminal, secrets redacted.
import { closeSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";
import type { PrettyOptions } from "pino-pretty";
import type { Config } from "../config/config.js";
import { REDACTED_PATHS } from "./log-redaction.js";

export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  /** Human-readable lines instead of JSON; by default when logging to stdout and stdout is a terminal. */
  readonly pretty?: boolean;
  /** Where the lines go instead of `log-file` or stdout (tests). */
  readonly destination?: DestinationStream;
}

/** The pretty printer, loaded only when asked for: a server logging JSON (to a file, a pipe, journald) never needs it. */
function prettyStream(options: Pick<PrettyOptions, "destination" | "colorize">): DestinationStream {
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
  return pretty({ ...options, sync: true, translateTime: "SYS:standard" });
}

/** Throws (an Error with the reason) when `log-file` cannot be opened for appending. */
export function createLogger(config: Pick<Config, "logLevel" | "logFile">, options: CreateLoggerOptions = {}): Logger {
  const toStdout = config.logFile === undefined || config.logFile === "stdout" || config.logFile === "-";
  const settings = {
    level: config.logLevel,
    redact: { paths: [...REDACTED_PATHS], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination !== undefined) return pino(settings, options.destination);
  const isTerminal = toStdout && process.stdout.isTTY === true;
  if (toStdout || config.logFile === undefined) {
    if (options.pretty ?? isTerminal) return pino(settings, prettyStream({ destination: 1, colorize: isTerminal }));
    return pino(settings, bufferedDestination(1));
  }
  // Opened here, synchronously: an unwritable log file is a clear error at start, and lines logged before
  // an early exit are flushed to it (a destination opened asynchronously would drop them).
  const path = config.logFile;
  const fd = openLogFile(path);
  if (options.pretty === true) return pino(settings, prettyStream({ destination: fd, colorize: false }));
  const stream = bufferedDestination(fd);
  // sonic-boom reopens only a destination it knows by name; one given as an fd has none until told.
  (stream as unknown as { file: string }).file = path;
  const logger = pino(settings, stream);
  reopeners.set(logger, () => {
    // Tried first, synchronously: sonic-boom's own failed reopen is reported late and leaves a stale close behind.
    closeSync(openLogFile(path));
    // sonic-boom keeps the order of lines and whatever it holds unwritten, and closes the old file once the new one is open.
    stream.reopen();
  });
  return logger;
}

const reopeners = new WeakMap<Logger, () => void>();

/**
 * Opens log-file afresh, by name, for logrotate's move-and-signal rotation (no copytruncate): lines
 * written from then on go to the new file. If it cannot be opened, they go on to the file as it was.
 */
export function reopenLogFile(logger: Logger): void {
  try {
    reopeners.get(logger)?.();
  } catch (error) {
    logger.error({ reason: error instanceof Error ? error.message : String(error) }, "log-file not reopened; logging goes on to the file as it was open");
  }
}

/** Asynchronous writes to `fd`, at most LOG_BUFFER_LIMIT_BYTES held, failures told (withWriteFailuresTold). */
function bufferedDestination(fd: number): LogStream {
  return withWriteFailuresTold(pino.destination({ dest: fd, sync: false, maxLength: LOG_BUFFER_LIMIT_BYTES }));
}

/** Log lines waiting in memory while the destination refuses writes; past this they are dropped. */
const LOG_BUFFER_LIMIT_BYTES = 16 * 1024 * 1024;
const WRITE_FAILURE_NOTICE_INTERVAL_MS = 60_000;

type LogStream = ReturnType<typeof pino.destination>;

/**
 * A log destination that stops taking writes (a full disk, an I/O error) must not stop turnpike, nor
 * hang its exit: sonic-boom's exit flush retries such a write forever. While writes fail, the flush at
 * exit is skipped, lines beyond LOG_BUFFER_LIMIT_BYTES are dropped, and stderr says so once a minute;
 * the next line retries, and logging resumes once a write succeeds.
 */
function withWriteFailuresTold(stream: LogStream): LogStream {
  let failing = false;
  let toldAtMs = Number.NEGATIVE_INFINITY;
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    if (!failing) flushSync();
  };
  stream.on("error", (error: Error) => {
    failing = true;
    if (Date.now() - toldAtMs < WRITE_FAILURE_NOTICE_INTERVAL_MS) return;
    toldAtMs = Date.now();
    process.stderr.write(`turnpike: cannot write the log (${error.message}); log lines are kept up to 16 MiB, then dropped, until a write succeeds\n`);
  });
  stream.on("write", () => {
    failing = false;
  });
  return stream;
}

function openLogFile(path: string): number {
  try {
    // It names users and their addresses: the group may read it (an adm group, a log shipper), others not.
    return openSync(path, "a", 0o640);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot open log-file ${path}: ${reason}`);
  }
}
