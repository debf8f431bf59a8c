import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config/config.js";
import { loadConfig } from "../../src/config/load-config.js";
import { OPTIONS } from "../../src/config/options.js";
import { useTempDir } from "./temp-dir.js";

const examplePath = fileURLToPath(new URL("../../turnserver.conf.example", import.meta.url));
const exampleText = readFileSync(examplePath, "utf8");
const temp = useTempDir();

describe("turnserver.conf.example", () => {
  it("loads cleanly, with no warnings", () => {
    expect(loadConfig({ file: examplePath }).warnings).toEqual([]);
  });

  it("restates only defaults in its uncommented lines", () => {
    expect(loadConfig({ file: examplePath }).config).toEqual(DEFAULT_CONFIG);
  });

  it("shows every option of the table, set or commented out", () => {
    for (const option of OPTIONS) {
      expect(exampleText, option.key).toMatch(new RegExp(`^#?${option.key}(?:[= ]|$)`, "m"));
    }
  });

  it("has commented-out examples that are valid, each on its own once uncommented", () => {
    const examples = exampleText.split("\n").filter((line) => /^#[a-zA-Z]/.test(line) && !/^#(?:api-)?(?:cert|pkey)=/.test(line));
    expect(examples.length).toBeGreaterThan(10);
    for (const example of examples) {
      expect(() => loadConfig({ file: temp.write("one.conf", example.slice(1).replace(/^log-file=.*/, "log-file=stdout")) }), example).not.toThrow();
    }
  });
});
