// The programmatic way in: a partial Config, checked by the same table and rules as the conf file.
import { closestMatchHint } from "./closest-match.js";
import { DEFAULT_CONFIG, type Config } from "./config.js";
import { ConfigError, reasonOf } from "./config-error.js";
import { findFieldOption, OPTIONS } from "./options.js";
import { finishConfig } from "./finish-config.js";
import type { ValidationRules } from "./validate-config.js";

/** A Config from the fields given, defaults for the rest; throws ConfigError for a bad field or value. `rules`: as loadConfig's. */
export function configFromObject(partial: Partial<Config> = {}, rules: ValidationRules = {}): Config {
  const draft: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [field, value] of Object.entries(partial)) {
    const option = findFieldOption(field);
    if (option === undefined) {
      const fields = new Set(OPTIONS.map((candidate) => candidate.field));
      throw new ConfigError(`unknown config field "${field}"${closestMatchHint(field, fields)}`);
    }
    if (value === undefined) {
      if (!(field in DEFAULT_CONFIG)) delete draft[field];
      continue;
    }
    try {
      draft[field] = option.repeatable ? checkList(value, (element) => option.parser.check(element)) : option.parser.check(value);
    } catch (error) {
      throw new ConfigError(`invalid value for ${field} (${option.key}): ${reasonOf(error)}`, { key: option.key });
    }
  }
  // As in a conf file: secrets turn useAuthSecret on unless it is given.
  if (partial.useAuthSecret === undefined && (draft.staticAuthSecrets as readonly string[]).length > 0) draft.useAuthSecret = true;
  return finishConfig(draft, (field) => ({ key: findFieldOption(field)?.key ?? field }), rules);
}

function checkList(value: unknown, checkElement: (element: unknown) => unknown): readonly unknown[] {
  // The value is not echoed: it may be a secret (staticAuthSecrets: "north").
  if (!Array.isArray(value)) throw new Error(`a ${typeof value} is not a list`);
  return Object.freeze(value.map(checkElement));
}
