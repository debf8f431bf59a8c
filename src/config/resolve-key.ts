// What a key names: one of our options, a coturn option we accept, or nothing (with the nearest known key).
import { closestMatchHint, findClosestMatch } from "./closest-match.js";
import { findCoturnOption, type CoturnOption, COTURN_OPTIONS_ALREADY_DEFAULT, UNIMPLEMENTED_COTURN_OPTIONS } from "./coturn-options.js";
import { findOption, OPTIONS, type OptionSpec } from "./options.js";

export type ResolvedKey =
  | { readonly kind: "option"; readonly option: OptionSpec }
  | { readonly kind: "coturn"; readonly coturn: CoturnOption & { readonly alreadyDefault: boolean } };

export function resolveKey(key: string): ResolvedKey | undefined {
  const option = findOption(key);
  if (option !== undefined) return { kind: "option", option };
  const coturn = findCoturnOption(key);
  return coturn === undefined ? undefined : { kind: "coturn", coturn };
}

/** True when the key's value is the next command-line argument (`--key value`) rather than absent or after `=`. */
export function takesSeparateValue(resolved: ResolvedKey): boolean {
  return resolved.kind === "option" ? resolved.option.parser.kind === "value" : resolved.coturn.arity === "value";
}

// Every option name is made of these; anything else in a key is not part of the name.
const NOT_IN_A_NAME = /[^A-Za-z0-9_-]/;

const KNOWN_KEYS: readonly string[] = [
  ...OPTIONS.map((option) => option.key),
  ...Object.keys(UNIMPLEMENTED_COTURN_OPTIONS),
  ...Object.keys(COTURN_OPTIONS_ALREADY_DEFAULT),
];

/**
 * `unknown option "listenig-port" (did you mean "listening-port"?)`. On the command line `typedPrefix` is the dashes
 * as typed and suggestions are spelled `--key`.
 */
export function describeUnknownKey(key: string, typedPrefix = "", suggestionPrefix = typedPrefix === "" ? "" : "--"): string {
  const typed = key.split(NOT_IN_A_NAME, 1)[0] ?? "";
  const name = gluedKnownName(key) ?? typed;
  return `unknown option "${typedPrefix}${showUnknownKey(key)}"${closestMatchHint(name, KNOWN_KEYS, suggestionPrefix)}`;
}

/** True when the option name `key` starts with is known, or close enough to one to be its typo. */
export function isNearKnownKey(key: string): boolean {
  const name = key.split(NOT_IN_A_NAME, 1)[0] ?? "";
  return resolveKey(name) !== undefined || gluedKnownName(key) !== undefined || findClosestMatch(name, KNOWN_KEYS) !== undefined;
}

// Fewer name characters past a known name, and nothing else, are more likely a typo ("listening-ips")
// than a value.
const GLUED_VALUE_MIN_LENGTH = 4;

/**
 * The longest known name that `key` goes on past with a value glued to it: four or more name
 * characters (`static-auth-secretS3cr3t`), or any that a character no name has follows
 * (`static-auth-secretS3+cr3t`, base64).
 */
function gluedKnownName(key: string): string | undefined {
  const end = key.search(NOT_IN_A_NAME);
  const name = end === -1 ? key : key.slice(0, end);
  const minimum = end === -1 ? GLUED_VALUE_MIN_LENGTH : 1;
  let found: string | undefined;
  for (const known of KNOWN_KEYS) {
    if (name.length - known.length >= minimum && name.startsWith(known) && known.length > (found?.length ?? 0)) found = known;
  }
  return found;
}

/**
 * An unknown key as errors may show it: a value may be glued to a known name (`static-auth-secretnorth`
 * and `static-auth-secretno+rth` show `static-auth-secret…`), and a character no option name has
 * (`static-auth-secret:north`) may start one, so nothing after it is shown (`static-auth-secret:…`).
 */
export function showUnknownKey(key: string): string {
  const glued = gluedKnownName(key);
  if (glued !== undefined) return `${glued}…`;
  const end = key.search(NOT_IN_A_NAME);
  return end === -1 ? key : `${key.slice(0, end + 1)}…`;
}
