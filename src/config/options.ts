// THE table: conf key <-> command-line flag (`--key`) <-> Config field <-> parser <-> repeatable <-> doc.
// Parsing, help text and the example file's test all derive from it; nothing else names an option.
import { LOG_LEVELS, type Config } from "./config.js";
import {
  enumParser,
  externalIpParser,
  filePathParser,
  flagParser,
  ipParser,
  logFileParser,
  portParser,
  presetParser,
  secondsParser,
  textParser,
  type ValueParser,
} from "./value-parsers.js";

type Field = keyof Config;
type ElementOf<T> = T extends readonly (infer E)[] ? E : never;

interface OptionCommon {
  /** The conf key and, with `--` in front, the command-line flag: coturn's name where coturn has one. */
  readonly key: string;
  /** True when coturn has an option of this name and meaning. */
  readonly coturn: boolean;
  /** One line for help and the example file. */
  readonly doc: string;
  /** How the default reads in help when formatting the value would not say it well. */
  readonly defaultText?: string;
}

interface SingleOption<F extends Field> extends OptionCommon {
  readonly field: F;
  readonly repeatable: false;
  readonly parser: ValueParser<Config[F]>;
}

interface RepeatableOption<F extends Field> extends OptionCommon {
  readonly field: F;
  /** Each occurrence adds one element; the command line's occurrences replace the file's list. */
  readonly repeatable: true;
  readonly parser: ValueParser<ElementOf<Config[F]>>;
}

export type OptionSpec = { [F in Field]: SingleOption<F> | RepeatableOption<F> }[Field];

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "listening-ip",
    field: "listeningIps",
    parser: ipParser,
    repeatable: true,
    coturn: true,
    doc: "Address to listen on.",
    defaultText: "all interfaces",
  },
  {
    key: "listening-port",
    field: "listeningPort",
    parser: portParser({ allowZeroInApi: true }),
    repeatable: false,
    coturn: true,
    doc: "UDP and TCP listening port.",
  },
  {
    key: "tls-listening-port",
    field: "tlsListeningPort",
    parser: portParser({ allowZeroInApi: true }),
    repeatable: false,
    coturn: true,
    doc: "TLS listening port (needs cert and pkey).",
  },
  {
    key: "relay-ip",
    field: "relayIps",
    parser: ipParser,
    repeatable: true,
    coturn: true,
    doc: "Local address to allocate relayed transport addresses on.",
    defaultText: "the address the client reached",
  },
  {
    key: "external-ip",
    field: "externalIps",
    parser: externalIpParser,
    repeatable: true,
    coturn: true,
    doc: "Public address to advertise behind NAT, optionally as public/private to map one relay-ip.",
    defaultText: "none",
  },
  { key: "min-port", field: "minPort", parser: portParser(), repeatable: false, coturn: true, doc: "Lowest relay port." },
  { key: "max-port", field: "maxPort", parser: portParser(), repeatable: false, coturn: true, doc: "Highest relay port." },
  {
    key: "realm",
    field: "realm",
    parser: textParser({ maxLength: 127 }),
    repeatable: false,
    coturn: true,
    doc: "REALM sent to clients for long-term credentials.",
  },
  {
    key: "cert",
    field: "cert",
    parser: filePathParser,
    repeatable: false,
    coturn: true,
    doc: "TLS certificate chain, PEM; relative to the config file; needs pkey.",
    defaultText: "none",
  },
  {
    key: "pkey",
    field: "pkey",
    parser: filePathParser,
    repeatable: false,
    coturn: true,
    doc: "TLS private key, PEM; relative to the config file; needs cert.",
    defaultText: "none",
  },
  { key: "no-udp", field: "noUdp", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on UDP." },
  { key: "no-tcp", field: "noTcp", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on TCP." },
  { key: "no-tls", field: "noTls", parser: flagParser, repeatable: false, coturn: true, doc: "Do not listen on TLS." },
  {
    key: "fingerprint",
    field: "fingerprint",
    parser: flagParser,
    repeatable: false,
    coturn: true,
    doc: "Add FINGERPRINT to every response.",
  },
  {
    key: "mapped-address",
    field: "mappedAddress",
    parser: flagParser,
    repeatable: false,
    coturn: false,
    doc: "Also send MAPPED-ADDRESS in Binding responses, for RFC 3489-era clients.",
  },
  {
    key: "no-stun-backward-compatibility",
    field: "mappedAddress",
    parser: presetParser(false),
    repeatable: false,
    coturn: true,
    doc: "Send no MAPPED-ADDRESS (the default; turns mapped-address off).",
  },
  {
    key: "stream-idle-timeout",
    field: "streamIdleTimeoutSeconds",
    parser: secondsParser({ min: 1, max: 86_400 }),
    repeatable: false,
    coturn: false,
    doc: "Close a TCP/TLS connection idle this many seconds with nothing complete in flight.",
  },
  {
    key: "log-file",
    field: "logFile",
    parser: logFileParser,
    repeatable: false,
    coturn: true,
    doc: 'Write JSON log lines to this file; "stdout" or "-" for standard output.',
    defaultText: "stdout",
  },
  {
    key: "log-level",
    field: "logLevel",
    parser: enumParser(LOG_LEVELS, "<level>"),
    repeatable: false,
    coturn: false,
    doc: `Least severe level logged: ${LOG_LEVELS.join(", ")}.`,
  },
  {
    key: "verbose",
    field: "logLevel",
    parser: presetParser("debug"),
    repeatable: false,
    coturn: true,
    doc: "Same as log-level=debug.",
  },
  {
    key: "Verbose",
    field: "logLevel",
    parser: presetParser("trace"),
    repeatable: false,
    coturn: true,
    doc: "Same as log-level=trace.",
  },
  {
    key: "software",
    field: "software",
    parser: textParser({ maxLength: 127 }),
    repeatable: false,
    coturn: false,
    doc: "SOFTWARE attribute value to send; unset sends none (smaller responses, less amplification).",
    defaultText: "none",
  },
  {
    key: "no-software-attribute",
    field: "software",
    parser: presetParser(undefined),
    repeatable: false,
    coturn: true,
    doc: "Send no SOFTWARE attribute (the default; unsets software).",
  },
];

const BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((option) => [option.key, option]));

export function findOption(key: string): OptionSpec | undefined {
  return BY_KEY.get(key);
}

/** The row that validates a field given through the programmatic API: the one that takes its value, not a preset. */
export function findFieldOption(field: string): OptionSpec | undefined {
  return OPTIONS.find((option) => option.field === field && option.parser.kind !== "preset");
}
