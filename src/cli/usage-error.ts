/** The command line itself is wrong (unknown command, `-c` without a file): exit code 2, like a ConfigError. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
