// Long-term credentials (RFC 8489 §9.2) from static users and TURN REST shared secrets, both at once.
import { createHash, createSecretKey, type KeyObject } from "node:crypto";
import { deriveLongTermKey, type IntegrityKey } from "../stun/integrity.js";
import type { CredentialStore, LongTermKeyAlgorithm } from "../turn/authenticate.js";
import {
  DEFAULT_REST_SEPARATOR,
  mintRestCredential,
  parseRestUsername,
  restPassword,
  type RestCredential,
} from "./rest-credentials.js";
import { createStaticUserTable, type StaticUser } from "./static-users.js";

export type { CredentialStore, LongTermKeyAlgorithm } from "../turn/authenticate.js";

export interface CredentialStoreOptions {
  readonly realm: string;
  /** lt-cred-mech users. */
  readonly staticUsers: readonly StaticUser[];
  /** use-auth-secret + static-auth-secret: all are accepted (rotation); the first mints. */
  readonly authSecrets: readonly string[];
  /** coturn's rest-api-separator; ":" by default. */
  readonly restSeparator?: string;
}

interface StaticKeys {
  readonly md5: KeyObject;
  /** Undefined for a user configured by MD5 key: SHA-256 needs the password itself. */
  readonly sha256?: KeyObject;
}

const NO_KEYS: readonly KeyObject[] = Object.freeze([]);

/**
 * Static users' keys are derived once, here; REST keys are derived per request, since the
 * username carries its own expiry and every accepted secret gives one candidate.
 * A static user given as `name:0x<md5 key>` only has an MD5 key: keysFor(…, "SHA-256", …) is [] for it.
 */
export function createCredentialStore(options: CredentialStoreOptions): CredentialStore {
  const { realm, authSecrets } = options;
  const separator = options.restSeparator ?? DEFAULT_REST_SEPARATOR;
  if (authSecrets.some((secret) => secret.length === 0)) throw new RangeError("an auth secret is empty");
  const secretKeys = authSecrets.map((secret) => createSecretKey(Buffer.from(secret, "utf8")));

  const staticKeys = new Map<string, StaticKeys>();
  const userByHash = new Map<string, string>();
  for (const user of createStaticUserTable(options.staticUsers).values()) {
    staticKeys.set(
      user.name,
      user.kind === "md5-key"
        ? { md5: createSecretKey(user.md5Key) }
        : {
            md5: createSecretKey(deriveLongTermKey(user.name, realm, user.password, "MD5")),
            sha256: createSecretKey(deriveLongTermKey(user.name, realm, user.password, "SHA-256")),
          },
    );
    userByHash.set(computeUserhash(user.name, realm).toString("hex"), user.name);
  }

  return {
    keysFor(username, algorithm, nowMs, options) {
      const keys: IntegrityKey[] = [];
      const fixed = staticKeys.get(username);
      const fixedKey = algorithm === "MD5" ? fixed?.md5 : fixed?.sha256;
      if (fixedKey !== undefined) keys.push(fixedKey);

      if (secretKeys.length > 0) {
        const rest = parseRestUsername(username, separator);
        // Checked on every request: an expired REST username has no key, hence 401, unless the caller
        // accepts expired ones (requests on an allocation the credential made, without strict-expiry).
        if (rest !== undefined && (options?.acceptExpired === true || nowMs < rest.expiresAtSeconds * 1000)) {
          for (const secret of secretKeys) {
            // Bytes, not a KeyObject: a key used for one request has nothing to gain from being wrapped.
            keys.push(deriveLongTermKey(username, realm, restPassword(secret, username), algorithm));
          }
        }
      }
      return keys.length === 0 ? NO_KEYS : keys;
    },

    isStaticUser(username) {
      return staticKeys.has(username);
    },

    usernameForUserhash(userhash) {
      return userhash.length === 32 ? userByHash.get(userhash.toString("hex")) : undefined;
    },

    offersUserhash: userByHash.size > 0 && secretKeys.length === 0,
  };
}

/** RFC 8489 §14.4: USERHASH = SHA-256(username ":" realm) (OpaqueString not applied, as for keys). */
export function computeUserhash(username: string, realm: string): Buffer {
  return createHash("sha256").update(`${username}:${realm}`, "utf8").digest();
}

/** Mints a REST credential with the first configured secret; the others are only accepted. */
export function mintWithFirstSecret(
  options: Pick<CredentialStoreOptions, "authSecrets" | "restSeparator">,
  request: { readonly user?: string; readonly ttlSeconds: number; readonly nowMs: number },
): RestCredential {
  const secret = options.authSecrets[0];
  if (secret === undefined) throw new Error("no auth secret is configured (use-auth-secret needs static-auth-secret)");
  return mintRestCredential({
    secret,
    ttlSeconds: request.ttlSeconds,
    nowMs: request.nowMs,
    ...(request.user === undefined ? {} : { user: request.user }),
    ...(options.restSeparator === undefined ? {} : { separator: options.restSeparator }),
  });
}
