// Long-term credential users from the configuration (coturn's lt-cred-mech `user=` lines).

/**
 * `name:password`, or coturn's `name:0x<32 hex digits>` where the hex is the already-derived
 * MD5 long-term key MD5(name:realm:password) (RFC 8489 §9.2.2); such a user has no password.
 */
export type StaticUser =
  | { readonly kind: "password"; readonly name: string; readonly password: string }
  | { readonly kind: "md5-key"; readonly name: string; readonly md5Key: Buffer };

const HEX_KEY_PREFIX = "0x";
const MD5_KEY_HEX_LENGTH = 32;
const HEX = /^[0-9a-fA-F]*$/;

/**
 * Parses the value of one `user` option. The name ends at the first colon (so a password may
 * contain colons, a name may not). Throws Error with a one-line reason when malformed.
 */
export function parseStaticUser(text: string): StaticUser {
  const colon = text.indexOf(":");
  if (colon === -1) throw new Error("user must be name:password or name:0x<md5 key>, no colon found");
  const name = text.slice(0, colon);
  const secret = text.slice(colon + 1);
  if (name.length === 0) throw new Error("user name is empty");
  if (secret.length === 0) throw new Error(`user "${name}" has an empty password`);

  if (secret.startsWith(HEX_KEY_PREFIX)) {
    const hex = secret.slice(HEX_KEY_PREFIX.length);
    if (hex.length !== MD5_KEY_HEX_LENGTH) {
      throw new Error(`user "${name}": a 0x key must be ${MD5_KEY_HEX_LENGTH} hex digits (an MD5 key), got ${hex.length}`);
    }
    if (!HEX.test(hex)) throw new Error(`user "${name}": the 0x key has characters that are not hex digits`);
    return { kind: "md5-key", name, md5Key: Buffer.from(hex, "hex") };
  }
  return { kind: "password", name, password: secret };
}

/** Static users by name. */
export interface StaticUserTable {
  get(name: string): StaticUser | undefined;
  readonly size: number;
  values(): IterableIterator<StaticUser>;
}

/** Throws Error when a name appears twice: two `user` lines for one name is a configuration mistake. */
export function createStaticUserTable(users: readonly StaticUser[]): StaticUserTable {
  const byName = new Map<string, StaticUser>();
  for (const user of users) {
    if (byName.has(user.name)) throw new Error(`user "${user.name}" is defined twice`);
    byName.set(user.name, user);
  }
  return {
    get: (name) => byName.get(name),
    size: byName.size,
    values: () => byName.values(),
  };
}
