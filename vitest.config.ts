import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Fail on anything that escapes a test: an uncaught exception in a socket handler is a crash in production.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
