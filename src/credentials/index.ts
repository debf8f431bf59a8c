export {
  DEFAULT_REST_SEPARATOR,
  mintRestCredential,
  parseRestUsername,
  restPassword,
  type MintRestCredentialOptions,
  type RestCredential,
  type RestUsername,
} from "./rest-credentials.js";
export { createStaticUserTable, parseStaticUser, type StaticUser, type StaticUserTable } from "./static-users.js";
export {
  computeUserhash,
  createCredentialStore,
  mintWithFirstSecret,
  type CredentialStore,
  type CredentialStoreOptions,
  type LongTermKeyAlgorithm,
} from "./credential-store.js";
