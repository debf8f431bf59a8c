// What a configuration leaves unserved: logged by the server as it starts, and said by check-config.
import type { Config } from "./config.js";

export const NO_TURN_CREDENTIALS = "no user and no static-auth-secret in use: TURN allocations will be refused; only STUN Binding is served";
export const NO_API_KEYS = "no API keys configured: every credential and revoke request is refused";

export function describeUnservedRequests(config: Config): string[] {
  const found: string[] = [];
  if (config.users.length === 0 && !(config.useAuthSecret && config.staticAuthSecrets.length > 0)) found.push(NO_TURN_CREDENTIALS);
  if (!config.noApi && config.apiKeys.length === 0 && !config.apiAllowAnonymous) found.push(NO_API_KEYS);
  return found;
}
