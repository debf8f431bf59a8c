// The programmatic API: start a server from a Config, load one like the CLI does, mint REST credentials.
export { startServer, StartupError, type ListenerInfo, type RunningServer, type StartOptions } from "./server/server.js";
export { loadConfig, type LoadConfigOptions, type LoadedConfig } from "./config/load-config.js";
export { configFromObject } from "./config/config-from-object.js";
export { ConfigError } from "./config/config-error.js";
export type { Config, ExternalIp } from "./config/config.js";
export { mintRestCredential, mintRestCredential as mintRestCredentials, type RestCredential } from "./credentials/rest-credentials.js";
export { createLogger } from "./server/logger.js";
