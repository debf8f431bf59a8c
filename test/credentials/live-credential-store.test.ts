import { describe, expect, it } from "vitest";
import { createCredentialStore } from "../../src/credentials/credential-store.js";
import { createLiveCredentialStore, staticUserChange } from "../../src/credentials/live-credential-store.js";
import { parseStaticUser } from "../../src/credentials/static-users.js";
import { keyHex } from "../helpers/keys.js";

const NOW = 1_700_000_000_000;
const store = (secrets: string[], users: string[] = []) =>
  createCredentialStore({ realm: "example.org", staticUsers: users.map(parseStaticUser), authSecrets: secrets });

describe("live credential store: revocation and reload", () => {
  it("refuses a revoked REST username until its expiry, then forgets it", () => {
    const live = createLiveCredentialStore(store(["s"]));
    const username = `${NOW / 1000 + 600}:alice`;
    expect(live.keysFor(username, "MD5", NOW)).toHaveLength(1);
    live.revoke(username, NOW);
    expect(live.keysFor(username, "MD5", NOW)).toEqual([]);
    expect(live.keysFor(`${NOW / 1000 + 600}:bob`, "MD5", NOW)).toHaveLength(1);
    expect(live.revokedCount).toBe(1);
    expect(live.prune(NOW + 601_000)).toBe(1);
    expect(live.revokedCount).toBe(0);
  });

  it("does not remember revoking an already expired REST username", () => {
    const live = createLiveCredentialStore(store(["s"]));
    live.revoke(`${NOW / 1000 - 1}:old`, NOW);
    expect(live.revokedCount).toBe(0);
  });

  it("keeps a revoked static user refused", () => {
    const live = createLiveCredentialStore(store([], ["alice:wonderland"]));
    live.revoke("alice", NOW);
    expect(live.keysFor("alice", "MD5", NOW + 10 * 365 * 86_400_000)).toEqual([]);
    expect(live.prune(NOW + 10 * 365 * 86_400_000)).toBe(0);
  });

  it("ends a static user's revocation when a reload changes or removes its entry, not otherwise; remembers no name that has nothing to revoke", () => {
    const live = createLiveCredentialStore(store([], ["alice:wonderland", "bob:builder"]));
    live.revoke("alice", NOW);
    live.revoke("bob", NOW);
    live.revoke("mallory", NOW);
    expect(live.revokedCount).toBe(2);
    live.replace(store([], ["alice:wonderland", "bob:builder"]), { staticUserChanged: staticUserChange(["alice:wonderland", "bob:builder"], ["alice:wonderland", "bob:builder"]) });
    expect(live.keysFor("alice", "MD5", NOW)).toEqual([]);
    live.replace(store([], ["alice:looking-glass"]), { staticUserChanged: staticUserChange(["alice:wonderland", "bob:builder"], ["alice:looking-glass"]) });
    expect(live.keysFor("alice", "MD5", NOW)).toHaveLength(1);
    expect(live.revokedCount).toBe(0);
    // Bob, removed, then added back: a new credential, not revoked.
    live.replace(store([], ["alice:looking-glass", "bob:builder"]), { staticUserChanged: staticUserChange(["alice:looking-glass"], ["alice:looking-glass", "bob:builder"]) });
    expect(live.keysFor("bob", "MD5", NOW)).toHaveLength(1);
  });

  it("revokes a static user whose name is digits alone (it also reads as a REST username's expiry) as any static user", () => {
    for (const name of ["1001", String(NOW / 1000 + 600)]) {
      const live = createLiveCredentialStore(store(["s"], [`${name}:pw`]));
      live.revoke(name, NOW);
      expect(live.keysFor(name, "MD5", NOW + 700_000)).toEqual([]);
      live.replace(store(["s"], [`${name}:pw2`]), { staticUserChanged: staticUserChange([`${name}:pw`], [`${name}:pw2`]) });
      expect(live.revokedCount).toBe(0);
    }
  });

  it("swaps the configured store on reload: a rotated-out secret stops working, revocations stay", () => {
    const live = createLiveCredentialStore(store(["old"]));
    const username = `${NOW / 1000 + 600}:alice`;
    const revoked = `${NOW / 1000 + 600}:mallory`;
    live.revoke(revoked, NOW);
    const oldKey = live.keysFor(username, "MD5", NOW)[0]!;
    live.replace(store(["new", "old"]));
    expect(live.keysFor(username, "MD5", NOW).map(keyHex)).toContain(keyHex(oldKey));
    live.replace(store(["new"]));
    expect(live.keysFor(username, "MD5", NOW).map(keyHex)).not.toContain(keyHex(oldKey));
    expect(live.keysFor(revoked, "MD5", NOW)).toEqual([]);
  });

  it("offers USERHASH as the store it holds does, after a reload too", () => {
    const live = createLiveCredentialStore(store([], ["alice:wonderland"]));
    expect(live.offersUserhash).toBe(true);
    live.replace(store(["s"], ["alice:wonderland"]));
    expect(live.offersUserhash).toBe(false);
  });
});
