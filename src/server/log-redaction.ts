// Apart from logger.ts, so that relay threads, which build their own pino, do not load pino-pretty.

/** Field paths never written as given: credentials may end up in logged objects. */
export const REDACTED_PATHS: readonly string[] = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "key",
  "*.key",
  "apiKey",
  "*.apiKey",
  "credential",
  "*.credential",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "pkeyPassphrase",
];
