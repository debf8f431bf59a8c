// A throw-away network namespace for the browser test. Chromium gathers no ICE candidates at all
// unless the host has a non-loopback interface with a default route, which a CI machine may lack;
// inside its own namespace the test gives itself one, and nothing it sends can leave the namespace.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";

/** The test host's address: it exists only inside the namespace, on a veth pair whose both ends stay there. */
export const TEST_HOST_ADDRESS = "10.255.0.1";
export const TEST_SUBNET = "10.255.0.0/24";
const TEST_PREFIX_LENGTH = 24;
/** Nothing answers here; the route only has to exist for Chromium to pick a default local address. */
const DEFAULT_GATEWAY = "10.255.0.254";

const IP_COMMAND_TIMEOUT_MS = 5_000;

export interface TestNamespace {
  readonly name: string;
  readonly address: string;
  /** The command line that runs `command args` inside the namespace. */
  commandLine(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Kills what still runs inside (only this test's processes can be there), then deletes the namespace. */
  remove(): Promise<void>;
}

/** Runs iproute2's `ip`, bounded; resolves with its standard output, rejects with its error output. */
function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: IP_COMMAND_TIMEOUT_MS, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`ip ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
    });
  });
}

export async function createTestNamespace(): Promise<TestNamespace> {
  const name = `turnpike-e2e-${randomBytes(4).toString("hex")}`;
  try {
    await ip(["netns", "add", name]);
  } catch (error) {
    throw new Error(
      "the browser test needs its own network namespace and could not create one " +
        "(it must run as root, or with CAP_SYS_ADMIN and CAP_NET_ADMIN, with iproute2's `ip` installed): " +
        (error instanceof Error ? error.message : String(error)),
    );
  }

  const remove = async (): Promise<void> => {
    const pids = await ip(["netns", "pids", name]).catch(() => "");
    for (const pid of pids.split(/\s+/).filter((word) => /^[0-9]+$/.test(word))) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
    await ip(["netns", "delete", name]);
  };

  try {
    await ip(["-n", name, "link", "set", "lo", "up"]);
    // A veth pair rather than a dummy link: the dummy driver is a module that a container may not have.
    await ip(["-n", name, "link", "add", "tp0", "type", "veth", "peer", "name", "tp1"]);
    await ip(["-n", name, "address", "add", `${TEST_HOST_ADDRESS}/${TEST_PREFIX_LENGTH}`, "dev", "tp0"]);
    await ip(["-n", name, "link", "set", "tp0", "up"]);
    await ip(["-n", name, "link", "set", "tp1", "up"]);
    await ip(["-n", name, "route", "add", "default", "via", DEFAULT_GATEWAY, "dev", "tp0"]);
  } catch (error) {
    await remove().catch(() => undefined);
    throw error;
  }

  return {
    name,
    address: TEST_HOST_ADDRESS,
    commandLine: (command, args) => ({ command: "ip", args: ["netns", "exec", name, command, ...args] }),
    remove,
  };
}
