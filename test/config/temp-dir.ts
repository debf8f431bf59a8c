import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/** A fresh directory per test, removed after it; `write` puts a file there and returns its path. */
export function useTempDir(): { readonly path: () => string; write(name: string, text: string): string } {
  let current: string | undefined;
  afterEach(() => {
    if (current !== undefined) rmSync(current, { recursive: true, force: true });
    current = undefined;
  });
  const path = (): string => (current ??= mkdtempSync(join(tmpdir(), "turnpike-config-")));
  return {
    path,
    write(name, text) {
      const file = join(path(), name);
      writeFileSync(file, text);
      return file;
    },
  };
}
