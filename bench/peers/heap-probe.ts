// Preloaded (node --expose-gc --import) into the Node.js servers under test, and nothing else: when
// the benchmark asks over the IPC channel, it runs a full GC and answers with the V8 heap in use and
// the RSS. Worker threads load it too (they inherit the preload); the main thread asks them over a
// BroadcastChannel and adds their heaps. The servers' own code is untouched, and neither channel
// keeps an event loop alive.
import { BroadcastChannel, isMainThread, threadId } from "node:worker_threads";
import type { HeapProbeReply, HeapProbeRequest } from "./heap-probe-messages.js";

type ThreadMessage = { readonly type: "collect" } | { readonly type: "heap"; readonly threadId: number; readonly heapUsedBytes: number };

const WORKER_REPLY_WAIT_MS = 200;
const collect = (globalThis as { gc?: () => void }).gc;
const threads = new BroadcastChannel("turnpike-bench-heap-probe");
threads.unref();

if (isMainThread) {
  process.on("message", (request: HeapProbeRequest) => {
    if (request.type === "memory") void answer();
  });
  process.channel?.unref();
} else {
  threads.onmessage = (event) => {
    if ((event.data as ThreadMessage).type !== "collect") return;
    collect?.();
    const reply: ThreadMessage = { type: "heap", threadId, heapUsedBytes: process.memoryUsage().heapUsed };
    threads.postMessage(reply);
  };
}

async function answer(): Promise<void> {
  const workerHeaps = new Map<number, number>();
  threads.onmessage = (event) => {
    const message = event.data as ThreadMessage;
    if (message.type === "heap") workerHeaps.set(message.threadId, message.heapUsedBytes);
  };
  threads.postMessage({ type: "collect" } satisfies ThreadMessage);
  collect?.();
  await new Promise((resolve) => setTimeout(resolve, WORKER_REPLY_WAIT_MS).unref());
  threads.onmessage = () => {};
  let heapUsedBytes = process.memoryUsage().heapUsed;
  for (const bytes of workerHeaps.values()) heapUsedBytes += bytes;
  const reply: HeapProbeReply = {
    type: "memory",
    heapUsedBytes,
    rssBytes: process.memoryUsage().rss,
    collected: collect !== undefined,
    threads: 1 + workerHeaps.size,
  };
  process.send?.(reply);
}
