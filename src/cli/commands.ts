// The commands `turnpike` knows, with the line help shows for each.

export const COMMANDS = {
  start: "Load the configuration and run the STUN/TURN server until SIGINT or SIGTERM; SIGHUP (or SIGUSR2) reloads the configuration and the TLS certificates.",
  "check-config": 'Validate the configuration, print its warnings and "config OK", and exit.',
  credentials: "Print a REST credential and the ICE server URIs as JSON, as the credential endpoint answers, offline.",
  reload: "Validate the configuration, then send SIGHUP to the turnpike whose process id is in pidfile. It rereads its own file and start flags: flags given here are only checked, and locate the pidfile.",
  drain: "Send SIGUSR1 to the turnpike in pidfile (flags given here only locate it): no new allocations; it exits when the last ends or drain-grace passes.",
  help: "Show this help, or one command's.",
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
