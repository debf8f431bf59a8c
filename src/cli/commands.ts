// The commands `turnpike` knows, with the line help shows for each.

export const COMMANDS = {
  start: "Load the configuration and run the STUN/TURN server until SIGINT or SIGTERM.",
  "check-config": 'Validate the configuration, print its warnings and "config OK", and exit.',
  help: "Show this help, or one command's.",
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}
