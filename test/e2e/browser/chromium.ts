// Debian's Chromium, driven by playwright-core, running inside the test namespace.
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import type { TestNamespace } from "./network-namespace.js";

const CHROMIUM_PATH = "/usr/bin/chromium";

// Headless, as root, on a machine whose network is closed: no sandbox (root), no GPU, and none of
// Chromium's own traffic (QUIC, sync, component updates, first-run and background fetches).
// WebRTC needs no extra switch: inside the namespace the veth address is the only non-loopback one,
// and with iceTransportPolicy "relay" only the TURN server's relayed addresses become candidates.
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface ChromiumInNamespace {
  readonly context: BrowserContext;
  /** Closes the browser (bounded by `timeoutMs`) and removes its profile and wrapper script. */
  close(timeoutMs?: number): Promise<void>;
}

export async function launchChromiumInNamespace(namespace: TestNamespace, timeoutMs: number): Promise<ChromiumInNamespace> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (.ci/env.sh does)`);
  }
  const directory = await mkdtemp(join(tmpdir(), "turnpike-e2e-chromium-"));
  const removeDirectory = (): Promise<void> => rm(directory, { recursive: true, force: true });
  try {
    // playwright-core starts the executable it is given and talks to it over inherited pipes,
    // which `ip netns exec` passes through; exec keeps the browser's process id the one it started.
    const wrapper = join(directory, "chromium-in-namespace.sh");
    const { command, args } = namespace.commandLine(CHROMIUM_PATH, []);
    await writeFile(wrapper, `#!/bin/sh\nexec ${[command, ...args].join(" ")} "$@"\n`);
    await chmod(wrapper, 0o755);

    // A persistent context on a fresh directory is how playwright takes a --user-data-dir.
    const context = await chromium.launchPersistentContext(join(directory, "profile"), {
      executablePath: wrapper,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: timeoutMs,
    });
    const close = async (closeTimeoutMs = 10_000): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, closeTimeoutMs)));
      try {
        await Promise.race([context.close(), timedOut]);
      } finally {
        clearTimeout(timer);
        await removeDirectory();
      }
    };
    return { context, close };
  } catch (error) {
    await removeDirectory();
    throw error;
  }
}
