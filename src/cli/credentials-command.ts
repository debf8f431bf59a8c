// `turnpike credentials`: mint a REST credential offline and print the JSON the credential endpoint answers.
import { hostname as osHostname } from "node:os";
import { checkUser } from "../api/credential-request.js";
import { advertisedHost, credentialResponse, iceUris, type IceUriPorts } from "../api/ice-servers.js";
import type { Config } from "../config/config.js";
import { loadConfig } from "../config/load-config.js";
import { mintRestCredential } from "../credentials/rest-credentials.js";
import { readStateFile } from "../server/state-file.js";
import { formatHelp } from "./help.js";
import type { CliDeps } from "./run.js";
import { splitCommandArgs } from "./split-command-args.js";
import { stateFilePathOf, usesGeneratedCredentials, warningsWithGeneratedCredentials } from "./start-config.js";
import { UsageError } from "./usage-error.js";

export async function runCredentials(args: readonly string[], deps: CliDeps): Promise<number> {
  const { file, help, optionArgs, commandOptions } = splitCommandArgs(args, ["user", "ttl"]);
  if (help) {
    deps.stdout.write(formatHelp("credentials"));
    return 0;
  }
  const user = checkUserOption(commandOptions["user"]);
  const { config, warnings } = loadConfig(file === undefined ? { args: optionArgs } : { file, args: optionArgs });
  // The state file whose secret a server started with this file and these flags runs on, if it does.
  const stateFile = usesGeneratedCredentials(file, config) ? stateFilePathOf(config, deps) : undefined;
  const shown = stateFile === undefined ? warnings : warningsWithGeneratedCredentials(config, warnings, stateFile);
  for (const warning of shown) deps.stderr.write(`turnpike: warning: ${warning}\n`);

  const ttlSeconds = chooseTtl(commandOptions["ttl"], config, deps);
  const secret = await findSecret(file, config, stateFile);
  const minted = mintRestCredential({
    secret,
    ...(user === undefined ? {} : { user }),
    ttlSeconds,
    nowMs: (deps.now ?? Date.now)(),
    separator: config.restApiSeparator,
  });
  const uris = iceUris(advertisedHost(config, deps.hostname ?? osHostname), advertisedPorts(config));
  const response = credentialResponse({ username: minted.username, password: minted.password, ttlSeconds: minted.ttlSeconds }, uris);
  deps.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  return 0;
}

/** The endpoint's own check of `username` (no ":", no control characters, at most 497 bytes); "" means none. Never echoed. */
function checkUserOption(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const checked = checkUser(text);
  if ("error" in checked) throw new UsageError(`invalid --user: ${checked.error}`);
  return checked.value;
}

/** `--ttl`, else rest-default-ttl; never beyond rest-max-ttl, as the endpoint grants. */
function chooseTtl(text: string | undefined, config: Config, deps: Pick<CliDeps, "stderr">): number {
  if (text === undefined) return config.restDefaultTtlSeconds;
  const asked = /^[0-9]{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(asked >= 1)) throw new UsageError(`--ttl ${JSON.stringify(text)} is not a whole number of seconds, 1 or more`);
  if (asked <= config.restMaxTtlSeconds) return asked;
  deps.stderr.write(`turnpike: warning: --ttl ${asked} is above rest-max-ttl ${config.restMaxTtlSeconds}; the credential is valid ${config.restMaxTtlSeconds} seconds\n`);
  return config.restMaxTtlSeconds;
}

/**
 * The first static-auth-secret in use; else the secret in `stateFile`, given exactly when
 * `turnpike start` with the same file and flags would use it (no config file, and no REST secret or
 * api-key), so that what is minted here is what that server accepts.
 */
async function findSecret(file: string | undefined, config: Config, stateFile: string | undefined): Promise<string> {
  const configured = config.useAuthSecret ? config.staticAuthSecrets[0] : undefined;
  if (configured !== undefined) return configured;
  if (stateFile !== undefined) {
    const state = await readStateFile(stateFile);
    if (state === undefined) {
      throw new UsageError(
        `no REST secret to sign with: set static-auth-secret (with -c FILE or as flags), ` +
          `or run "turnpike start" once without a config file to generate one in ${stateFile}`,
      );
    }
    return state.staticAuthSecret;
  }
  const secretGiven = config.useAuthSecret || config.staticAuthSecrets.length > 0;
  if (!secretGiven) {
    throw new UsageError(
      file !== undefined
        ? `no REST secret to sign with: ${file} sets no static-auth-secret, so a server started with it accepts no REST credentials ` +
            `(with a config file the state file is not used)`
        : "no REST secret to sign with: these flags set an api-key, so a server started with them does not use the state file " +
            "and, without a static-auth-secret, accepts no REST credentials",
    );
  }
  throw new UsageError(
    config.staticAuthSecrets.length > 0
      ? "no REST secret to sign with: use-auth-secret is false, so a server started with these settings accepts no REST credentials"
      : "no REST secret to sign with: use-auth-secret is set but no static-auth-secret is given",
  );
}

/** UDP and TCP on listening-port unless turned off; TLS on tls-listening-port with cert and pkey, unless no-tls. */
export function advertisedPorts(config: Config): IceUriPorts {
  const tls = config.cert !== undefined && config.pkey !== undefined && !config.noTls;
  return {
    ...(config.noUdp ? {} : { udp: config.listeningPort }),
    ...(config.noTcp ? {} : { tcp: config.listeningPort }),
    ...(tls ? { tls: config.tlsListeningPort } : {}),
  };
}
