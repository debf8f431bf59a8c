// listening-ip 0.0.0.0 (coturn configurations often say it) with no relay-ip: a socket bound to the
// wildcard cannot tell which address a UDP client reached, so there was no address to relay on and
// every Allocate got 440. Inside a network namespace of its own, where the server may bind every
// address without reaching beyond the test.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { createTestNamespace, TEST_HOST_ADDRESS } from "./browser/network-namespace.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/wildcard-listening.mjs", import.meta.url));

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${command} failed: ${stderr || error.message}`));
    });
  });
}

it("listens on every address of the family for listening-ip 0.0.0.0, and relays on the one each client reached", { timeout: 60_000 }, async () => {
  const namespace = await createTestNamespace();
  try {
    const { command, args } = namespace.commandLine(process.execPath, [FIXTURE, TEST_HOST_ADDRESS]);
    const result = JSON.parse(await run(command, args)) as { listeners: string[]; allocations: Record<string, { relayed?: string; error?: unknown }> };
    expect(result.listeners.sort()).toEqual([`tcp 127.0.0.1`, `tcp ${TEST_HOST_ADDRESS}`, `udp 127.0.0.1`, `udp ${TEST_HOST_ADDRESS}`].sort());
    expect(result.allocations).toEqual({
      [`udp ${TEST_HOST_ADDRESS}`]: { relayed: TEST_HOST_ADDRESS },
      [`tcp ${TEST_HOST_ADDRESS}`]: { relayed: TEST_HOST_ADDRESS },
      "udp 127.0.0.1": { relayed: "127.0.0.1" },
      "tcp 127.0.0.1": { relayed: "127.0.0.1" },
    });
  } finally {
    await namespace.remove();
  }
});
