import type { Config } from "./config.js";
import { validateConfig, type LocateField, type ValidationRules } from "./validate-config.js";

/**
 * Freezes a draft whose every field has been checked by its parser, then applies the cross-field rules.
 * The one place a draft becomes a Config: each field's value came from that field's own parser.
 */
export function finishConfig(draft: Record<string, unknown>, locate: LocateField, rules: ValidationRules = {}): Config {
  for (const [field, value] of Object.entries(draft)) {
    if (value === undefined) delete draft[field];
    else if (Array.isArray(value)) draft[field] = Object.freeze(value.map((element: unknown) => (typeof element === "object" && element !== null ? Object.freeze(element) : element)));
  }
  const config = Object.freeze(draft) as unknown as Config;
  validateConfig(config, locate, rules);
  return config;
}
