// One typed parser per kind of option value. Each turns conf-file or command-line text into a typed value,
// and checks a value given through the programmatic API; both throw an Error whose message is the reason.
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseStaticUser } from "../credentials/static-users.js";
import { formatIp, isIpv4Mapped, parseIp } from "../stun/address.js";
import { parseIpRange } from "../turn/ip-range.js";
import type { ExternalIp } from "./config.js";
import { isWildcard } from "./validate-config.js";

export interface ParseContext {
  /** Relative file paths resolve against this: the config file's directory, or the working directory. */
  readonly baseDir: string;
}

export interface ValueParser<T> {
  /**
   * "value": needs text (`key=value`); "flag": given bare, or with an explicit boolean;
   * "preset": given bare only, sets a fixed value (`verbose` sets log-level debug).
   */
  readonly kind: "value" | "flag" | "preset";
  /** How the value is written in help and docs: "<port>", "<ip>"; empty for flags, "[=<seconds>]" for one whose value is optional. */
  readonly placeholder: string;
  /** `text` is undefined when the key was given bare; the loader has already refused a bare "value" option. */
  parse(text: string | undefined, context: ParseContext): T;
  /** Validates a value given through the programmatic API. */
  check(value: unknown): T;
  /** Renders a value the way it would be written in the conf file. */
  format(value: T): string;
}

const quote = (text: string): string => JSON.stringify(text);

function describe(value: unknown): string {
  return typeof value === "string" ? quote(value) : typeof value === "object" ? JSON.stringify(value) ?? String(value) : String(value);
}

function requireText(text: string | undefined): string {
  // The loader refuses missing values before calling parse; this keeps parse total on its own.
  if (text === undefined || text === "") throw new Error("a value is required");
  return text;
}

export function portParser(options: { allowZeroInApi?: boolean } = {}): ValueParser<number> {
  const lowest = options.allowZeroInApi === true ? 0 : 1;
  return {
    kind: "value",
    placeholder: "<port>",
    parse(text) {
      const value = requireText(text);
      const port = /^[0-9]{1,5}$/.test(value) ? Number(value) : Number.NaN;
      if (!(port >= 1 && port <= 65535)) throw new Error(`${quote(value)} is not a port number (1-65535)`);
      return port;
    },
    check(value) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < lowest || value > 65535) {
        throw new Error(`${describe(value)} is not a port number (${lowest}-65535)`);
      }
      return value;
    },
    format: String,
  };
}

function checkIp(value: unknown): string {
  if (typeof value !== "string" || isIP(value) === 0) throw new Error(`${describe(value)} is not an IP address`);
  return value;
}

/**
 * A TURN listening or relay address. Both refusals would pass checkIp and fail only at start: a
 * zone is not kept in the address tables, and the TURN and relay sockets bind IPv6 v6-only, so an
 * IPv4-mapped address cannot be bound (the API's HTTP server binds dual-stack, and takes one).
 */
function checkTurnIp(value: unknown): string {
  const ip = checkIp(value);
  if (ip.includes("%")) throw new Error(`${quote(ip)} has a zone (%...), which turnpike does not support: give an address without one`);
  const bytes = parseIp(ip)?.bytes;
  if (bytes !== undefined && isIpv4Mapped(bytes)) {
    throw new Error(`${quote(ip)} is an IPv4-mapped address: give the IPv4 address ${formatIp(bytes.subarray(12))} itself`);
  }
  return ip;
}

/** `listening-ip`: see checkTurnIp. */
export const listeningIpParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<ip>",
  parse: (text) => checkTurnIp(requireText(text)),
  check: checkTurnIp,
  format: String,
};

export const ipParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<ip>",
  parse: (text) => checkIp(requireText(text)),
  check: checkIp,
  format: String,
};

/** `relay-ip`: an address of this machine that peers reach; not a wildcard, which XOR-RELAYED-ADDRESS would hand out as is. */
export const relayIpParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<ip>",
  parse: (text) => checkRelayIp(requireText(text)),
  check: checkRelayIp,
  format: String,
};

function checkRelayIp(value: unknown): string {
  const ip = checkTurnIp(value);
  if (isWildcard(ip)) throw new Error(`${quote(ip)} is the unspecified address, which peers cannot send to: give an address of this machine, or leave relay-ip unset to relay on the address each client reached`);
  return ip;
}

function checkExternalIp(publicIp: unknown, privateIp: unknown): ExternalIp {
  if (typeof publicIp !== "string" || isIP(publicIp) === 0) throw new Error(`public address ${describe(publicIp)} is not an IP address`);
  // A zone id (fe80::1%eth0) means nothing to a client on another machine.
  if (publicIp.includes("%")) throw new Error(`public address ${describe(publicIp)} has a zone id: write the address alone`);
  if (isWildcard(publicIp)) throw new Error(`public address ${describe(publicIp)} is the unspecified address: write the address clients reach`);
  if (privateIp === undefined) return { public: publicIp };
  if (typeof privateIp !== "string" || isIP(privateIp) === 0) throw new Error(`private address ${describe(privateIp)} is not an IP address`);
  if (isWildcard(privateIp)) throw new Error(`private address ${describe(privateIp)} is the unspecified address: write the local address it stands for`);
  if (isIP(publicIp) !== isIP(privateIp)) throw new Error(`${publicIp} and ${privateIp} are not of the same address family`);
  return { public: publicIp, private: privateIp };
}

/** `external-ip`: `public` or `public/private`. */
export const externalIpParser: ValueParser<ExternalIp> = {
  kind: "value",
  placeholder: "<public-ip>[/<private-ip>]",
  parse(text) {
    const parts = requireText(text).split("/");
    if (parts.length > 2) throw new Error(`${quote(text ?? "")} is not <public-ip> or <public-ip>/<private-ip>`);
    return checkExternalIp(parts[0], parts[1]);
  },
  check(value) {
    if (typeof value !== "object" || value === null || !("public" in value)) {
      throw new Error(`${describe(value)} is not { public, private? }`);
    }
    return checkExternalIp(value.public, "private" in value ? value.private : undefined);
  },
  format: (value) => (value.private === undefined ? value.public : `${value.public}/${value.private}`),
};

// coturn's boolean words.
const TRUE_WORDS = new Set(["true", "t", "yes", "y", "on", "1"]);
const FALSE_WORDS = new Set(["false", "f", "no", "n", "off", "0"]);

/** A switch: bare means on; `key=false` (or no, off, 0) turns it back off, e.g. on the command line over the file. */
export const flagParser: ValueParser<boolean> = {
  kind: "flag",
  placeholder: "",
  parse(text) {
    if (text === undefined || text === "") return true;
    const word = text.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    // Not echoed: what is written after a flag may be a secret (use-auth-secret=<the secret>).
    throw new Error("a flag is given bare, or with true/false, yes/no, on/off, 1/0");
  },
  check(value) {
    if (typeof value !== "boolean") throw new Error(`a ${value === null ? "null" : typeof value} is not a boolean`);
    return value;
  },
  format: String,
};

/** A bare key that sets a fixed value of another option (`sets`): coturn's `verbose`, `no-software-attribute`. */
export function presetParser<const T>(preset: T, sets: string): ValueParser<T> {
  return {
    kind: "preset",
    placeholder: "",
    parse(text) {
      if (text !== undefined && text !== "") throw new Error(`this flag takes no value (the value given is not shown): it stands for a ${sets} value; give ${sets} instead`);
      return preset;
    },
    check() {
      throw new Error("a preset flag has no programmatic form");
    },
    format: () => "",
  };
}

/** Printable text, as a STUN REALM or SOFTWARE value must be: RFC 8489 §14.9 and §14.14, fewer than 128 characters. */
export function textParser(options: { maxLength: number }): ValueParser<string> {
  const check = (value: unknown): string => {
    if (typeof value !== "string" || value === "") throw new Error(`${describe(value)} is not a non-empty string`);
    if ([...value].length > options.maxLength) throw new Error(`${quote(value)} is longer than ${options.maxLength} characters`);
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error(`${quote(value)} contains control characters`);
    return value;
  };
  return { kind: "value", placeholder: "<text>", parse: (text) => check(requireText(text)), check, format: String };
}

export function enumParser<const T extends string>(values: readonly T[], placeholder = `<${values.join("|")}>`): ValueParser<T> {
  const check = (value: unknown): T => {
    const found = values.find((candidate) => candidate === value);
    if (found === undefined) throw new Error(`${describe(value)} is not one of ${values.join(", ")}`);
    return found;
  };
  return { kind: "value", placeholder, parse: (text) => check(requireText(text)), check, format: String };
}

/** Whole seconds within [min, max]. */
export function secondsParser(range: { min: number; max: number }): ValueParser<number> {
  const check = (value: unknown): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
      throw new Error(`${describe(value)} is not a whole number of seconds from ${range.min} to ${range.max}`);
    }
    return value;
  };
  return {
    kind: "value",
    placeholder: "<seconds>",
    parse(text) {
      const value = requireText(text);
      return check(/^[0-9]{1,10}$/.test(value) ? Number(value) : value);
    },
    check,
    format: String,
  };
}

function checkPath(value: unknown): string {
  if (typeof value !== "string" || value === "") throw new Error(`${describe(value)} is not a file path`);
  return value;
}

/** A file path (cert, pkey, state-file, pidfile); relative paths resolve against the config file's directory. */
export const filePathParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<file>",
  parse: (text, context) => resolve(context.baseDir, checkPath(requireText(text))),
  check: checkPath,
  format: String,
};

/** `log-file`: a path, or "stdout" / "-" for standard output; coturn's "syslog" is refused rather than written as a file. */
export const logFileParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<file|stdout>",
  parse(text, context) {
    const value = checkLogFile(requireText(text));
    return value === "stdout" || value === "-" ? "stdout" : resolve(context.baseDir, value);
  },
  check: checkLogFile,
  format: String,
};

function checkLogFile(value: unknown): string {
  const path = checkPath(value);
  if (path === "syslog") throw new Error(`"syslog" is not supported: log to stdout and let the service manager collect it`);
  return path;
}

/** A whole number within [min, max]: quotas and caps. */
export function countParser(range: { min: number; max: number }): ValueParser<number> {
  const check = (value: unknown): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < range.min || value > range.max) {
      throw new Error(`${describe(value)} is not a whole number from ${range.min} to ${range.max}`);
    }
    return value;
  };
  return {
    kind: "value",
    placeholder: "<number>",
    parse: (text) => {
      const value = requireText(text);
      return check(/^[0-9]{1,10}$/.test(value) ? Number(value) : value);
    },
    check,
    format: String,
  };
}

/** A limit from 1 to `max`, where 0 means no limit (coturn's meaning) and stands for `max`. */
export function limitParser(max: number): ValueParser<number> {
  const count = countParser({ min: 0, max });
  const check = (value: unknown): number => {
    const limit = count.check(value);
    return limit === 0 ? max : limit;
  };
  return { ...count, parse: (text, context) => check(count.parse(text, context)), check };
}

/** coturn's optional-value form (`stale-nonce` bare means its default; `stale-nonce=300` sets it). */
export function optionalSecondsParser(bare: number, range: { min: number; max: number }): ValueParser<number> {
  const seconds = secondsParser(range);
  return {
    kind: "flag",
    placeholder: "[=<seconds>]",
    parse: (text, context) => (text === undefined || text === "" ? bare : seconds.parse(text, context)),
    check: seconds.check,
    format: String,
  };
}

/** `user=name:password` or `user=name:0x<32 hex digits>` (the MD5 long-term key, coturn's form); formats without the password. */
export const staticUserParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<name:password>",
  parse: (text) => checkStaticUser(requireText(text)),
  check: checkStaticUser,
  format: (value) => `${value.slice(0, Math.max(0, value.indexOf(":")))}:<redacted>`,
};

function checkStaticUser(value: unknown): string {
  // Not described: an object given here may hold the password.
  if (typeof value !== "string") throw new Error(`a ${value === null ? "null" : typeof value} is not a name:password string`);
  parseStaticUser(value);
  return value;
}

/**
 * `redis-url`: redis:// or rediss:// with a host. A user name and password are percent-encoded, as
 * in any URL (%25 for %, %40 for @). It may hold a password, so neither it nor an error about it
 * shows one.
 */
export const redisUrlParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<redis://host:port>",
  parse: (text) => checkRedisUrl(requireText(text)),
  check: checkRedisUrl,
  format: redactRedisUrl,
};

function checkRedisUrl(value: unknown): string {
  if (typeof value !== "string") throw new Error(`a ${value === null ? "null" : typeof value} is not a redis:// URL`);
  const url = URL.parse(value);
  if (url === null) throw new Error("not a URL: write redis://host:port (rediss:// for TLS)");
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new Error(`the scheme is ${url.protocol.slice(0, 16)} where redis: or rediss: is needed`);
  if (url.hostname === "") throw new Error("the URL names no host");
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^[0-9]{1,5}$/.test(db)) throw new Error("the path must be a database number (redis://host:port/2) or nothing");
  if (url.search !== "" || url.hash !== "") throw new Error("the URL may not have a query or a fragment");
  // The client decodes them; a stray % would stop the start.
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part);
    } catch {
      throw new Error("the user name or password has a % that starts no escape: percent-encode it (%25 for %)");
    }
  }
  return value;
}

/** The URL without its user name and password (a password is sometimes written in the user's place), for logs. */
export function redactRedisUrl(value: string): string {
  const url = URL.parse(value);
  if (url === null) return "<redacted>";
  const credentials = url.username !== "" || url.password !== "" ? "redacted@" : "";
  return `${url.protocol}//${credentials}${url.host}${url.pathname === "/" ? "" : url.pathname}`;
}

/** A shared secret: any printable text; it is never logged. */
export const secretParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<secret>",
  parse: (text) => checkSecret(requireText(text)),
  check: checkSecret,
  format: () => "<redacted>",
};

function checkSecret(value: unknown): string {
  if (typeof value !== "string") throw new Error(`a ${value === null ? "null" : typeof value} is not a secret string`);
  if (value === "") throw new Error("the secret is empty");
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error("the secret contains control characters");
  return value;
}

/**
 * `api-key`: a secret a client sends as `Authorization: Bearer <key>`, so printable ASCII with no
 * space (a header carries no other text unchanged; RFC 6750 §2.1). It is never logged or described.
 */
export const apiKeyParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<secret>",
  parse: (text) => checkApiKey(requireText(text)),
  check: checkApiKey,
  format: () => "<redacted>",
};

function checkApiKey(value: unknown): string {
  const key = checkSecret(value);
  if (!/^[\x21-\x7e]+$/.test(key)) throw new Error("the key has a space or a character outside printable ASCII: an Authorization header cannot carry it");
  return key;
}

/** An address, a range `a-b`, or a CIDR block, as allowed-peer-ip and denied-peer-ip take. */
export const ipRangeParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<ip|a-b|cidr>",
  parse: (text) => checkIpRange(requireText(text)),
  check: checkIpRange,
  format: String,
};

function checkIpRange(value: unknown): string {
  if (typeof value !== "string") throw new Error(`${describe(value)} is not an address range`);
  parseIpRange(value);
  return value;
}

/**
 * One printable ASCII character, not a digit or a space: the REST API username separator. One byte,
 * as the credential endpoint's username budget (509 bytes for USERNAME) counts it.
 */
export const separatorParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<char>",
  parse: (text) => checkSeparator(requireText(text)),
  check: checkSeparator,
  format: String,
};

function checkSeparator(value: unknown): string {
  if (typeof value !== "string" || !/^[\x21-\x2f\x3a-\x7e]$/.test(value)) {
    throw new Error(`${describe(value)} is not one printable ASCII character other than a digit or a space`);
  }
  return value;
}

/**
 * `api-cors-origin`: an origin as a browser sends it in `Origin`, `scheme://host[:port]` with no path.
 * Kept as the URL parser normalizes it (lower-case scheme and host, default port dropped), so it compares equal.
 */
export const originParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<scheme://host[:port]>",
  parse: (text) => checkOrigin(requireText(text)),
  check: checkOrigin,
  format: String,
};

const ORIGIN_SHAPE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@\s\\]+\/?$/;

function checkOrigin(value: unknown): string {
  if (typeof value !== "string") throw new Error(`${describe(value)} is not an origin`);
  const refuse = (): Error => new Error(`${quote(value)} is not an origin: scheme://host[:port], with no path, query or user`);
  if (value.includes("*")) throw new Error(`${quote(value)} is not an origin: wildcards are not supported; list each origin (api-cors-origin repeats)`);
  if (!ORIGIN_SHAPE.test(value)) throw refuse();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse();
  }
  if (url.host === "") throw refuse();
  return `${url.protocol}//${url.host}`;
}

/** `rest-uri-host`: a DNS name (RFC 1123 labels) or an IP literal; an IPv6 literal may be bracketed and is kept bare. */
export const hostParser: ValueParser<string> = {
  kind: "value",
  placeholder: "<host>",
  parse: (text) => checkHost(requireText(text)),
  check: checkHost,
  format: String,
};

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function checkHost(value: unknown): string {
  if (typeof value !== "string") throw new Error(`${describe(value)} is not a host name or IP address`);
  const bracketed = value.startsWith("[") && value.endsWith("]");
  const bare = bracketed ? value.slice(1, -1) : value;
  // A zone id (fe80::1%eth0) means nothing to a browser on another machine.
  if (!bare.includes("%") && isIP(bare) === 6) return bare;
  if (!bracketed && isIP(bare) === 4) return bare;
  const labels = value.split(".");
  const isName =
    !bracketed &&
    value.length <= 253 &&
    labels.every((label) => DNS_LABEL.test(label)) &&
    // An all-numeric last label is a mistyped IPv4 address, not a name.
    !/^[0-9]+$/.test(labels[labels.length - 1] ?? "");
  if (!isName) throw new Error(`${quote(value)} is not a host name (letters, digits, hyphens, dot-separated) or an IP address`);
  return value;
}
