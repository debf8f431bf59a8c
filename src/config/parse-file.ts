// coturn's conf grammar: one option a line, `key=value`, `key value` or a bare `key`; `#` starts a comment
// on its own line or after whitespace; values may be quoted; a leading `--` on a key is tolerated.
import { ConfigError } from "./config-error.js";

export interface ConfigEntry {
  readonly key: string;
  /** Undefined when the key was given bare (`no-udp`); "" when written with an empty value (`realm=`). */
  readonly value: string | undefined;
  /** 1-based line in the file; undefined for a command-line entry. */
  readonly line?: number;
}

/** Splits a conf file's text into entries; `file` names it in errors. */
export function parseConfigText(text: string, file: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  lines.forEach((raw, index) => {
    const entry = parseLine(raw, { file, line: index + 1 });
    if (entry !== undefined) entries.push(entry);
  });
  return entries;
}

function parseLine(raw: string, where: { file: string; line: number }): ConfigEntry | undefined {
  const text = raw.trimStart();
  if (text === "" || text.startsWith("#")) return undefined;

  const keyEnd = text.search(/[\s=]/);
  const key = (keyEnd === -1 ? text : text.slice(0, keyEnd)).replace(/^--/, "");
  if (key === "") throw new ConfigError("option name missing before the value", where);
  if (keyEnd === -1) return { key, value: undefined, line: where.line };

  // coturn skips any run of blanks and `=` between key and value.
  const separator = /^[\s=]*/.exec(text.slice(keyEnd))?.[0] ?? "";
  const hasEquals = separator.includes("=");
  const rest = text.slice(keyEnd + separator.length);

  if (rest.startsWith('"') || rest.startsWith("'")) {
    return { key, value: readQuoted(rest, { ...where, key }), line: where.line };
  }
  // A `#` right after the separator's whitespace starts a comment; after `=` it is part of the value.
  const commentAt = rest.startsWith("#") && !separator.endsWith("=") ? 0 : rest.search(/\s#/);
  const value = (commentAt === -1 ? rest : rest.slice(0, commentAt)).trimEnd();
  if (value === "" && !hasEquals) return { key, value: undefined, line: where.line };
  return { key, value, line: where.line };
}

function readQuoted(rest: string, where: { file: string; line: number; key: string }): string {
  const quote = rest.charAt(0);
  const close = rest.indexOf(quote, 1);
  if (close === -1) throw new ConfigError(`unterminated ${quote} quote in the value of ${where.key}`, where);
  const after = rest.slice(close + 1);
  if (after.trim() !== "" && !/^\s+#/.test(after)) {
    // Not echoed: the value may be a secret (static-auth-secret, user).
    throw new ConfigError(`unexpected text after the closing quote of ${where.key}`, where);
  }
  return rest.slice(1, close);
}
