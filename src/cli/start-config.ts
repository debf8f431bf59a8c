// The configuration `turnpike start` runs with, and reloads on SIGHUP: the file and flags, plus, when they
// give no credentials and there is no file, the REST secret and API key of the state file (generated once,
// at a start; a reload only reads it).
import { homedir as osHomedir } from "node:os";
import type { Config } from "../config/config.js";
import { configFromObject } from "../config/config-from-object.js";
import { describeInactiveCredentials, loadConfig } from "../config/load-config.js";
import { defaultStateFilePath, loadOrCreateStateFile, pidfileNextTo, readStateFile, StateFileError, type LoadedState } from "../server/state-file.js";
import type { CliDeps } from "./run.js";

export interface StartConfig {
  readonly config: Config;
  readonly warnings: readonly string[];
  /** Present when the credentials come from the state file. */
  readonly generated?: { readonly stateFile: string; readonly created: boolean };
}

type Environment = Pick<CliDeps, "env" | "homedir">;

/** `state-file`, else the XDG default. */
export function stateFilePathOf(config: Config, deps: Environment): string {
  return config.stateFile ?? defaultStateFilePath({ env: deps.env ?? process.env, homedir: (deps.homedir ?? osHomedir)() });
}

/** No config file, and none of user, a static-auth-secret in use, or api-key. */
export function usesGeneratedCredentials(file: string | undefined, config: Config): boolean {
  const hasRestSecret = config.useAuthSecret && config.staticAuthSecrets.length > 0;
  return file === undefined && config.users.length === 0 && !hasRestSecret && config.apiKeys.length === 0;
}

/** `reload`: the state file is only read; one that is gone refuses the reload rather than being made anew. */
export async function loadStartConfig(file: string | undefined, args: readonly string[], deps: Environment, purpose: "start" | "reload" = "start"): Promise<StartConfig> {
  const rules = purpose === "start" ? { writableFiles: true } : { forReload: true };
  const { config, warnings } = loadConfig(file === undefined ? { args, ...rules } : { file, args, ...rules });
  if (!usesGeneratedCredentials(file, config)) return { config, warnings };

  const stateFile = stateFilePathOf(config, deps);
  const { state, created } = purpose === "start" ? await loadOrCreateStateFile(stateFile) : await readForReload(stateFile);
  // Through configFromObject, so that the added values pass the same parsers and rules as any other.
  const generated = configFromObject(
    {
      ...config,
      useAuthSecret: true,
      staticAuthSecrets: [state.staticAuthSecret],
      apiKeys: [state.apiKey],
      pidfile: config.pidfile ?? pidfileNextTo(stateFile),
    },
    rules,
  );
  return { config: generated, warnings: warningsWithGeneratedCredentials(config, warnings, stateFile), generated: { stateFile, created } };
}

/**
 * loadConfig's warnings for a configuration that runs on the state file's credentials: those about
 * use-auth-secret without a secret (and the reverse) no longer hold, so they say what does.
 */
export function warningsWithGeneratedCredentials(config: Config, warnings: readonly string[], stateFile: string): string[] {
  const stale = new Set(describeInactiveCredentials(config));
  const kept = warnings.filter((warning) => !stale.has(warning));
  if (config.staticAuthSecrets.length > 0) {
    kept.push(`static-auth-secret with use-auth-secret=false is replaced by the secret generated in ${stateFile}; drop use-auth-secret=false to use your own`);
  }
  return kept;
}

async function readForReload(stateFile: string): Promise<LoadedState> {
  const state = await readStateFile(stateFile);
  // A new file would hold a new secret and API key: every credential handed out, and the key in use, would stop working.
  if (state === undefined) {
    throw new StateFileError(
      `state file ${stateFile} is gone; the running server's REST secret and API key came from it: restore it and reload again ` +
        `(a restart would generate new ones, and every credential issued so far would stop working)`,
    );
  }
  return { state, created: false };
}
