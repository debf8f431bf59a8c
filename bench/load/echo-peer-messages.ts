// What the benchmark and its echo peer say to each other over the IPC channel.

export type EchoPeerRequest = { readonly type: "counters" };

export type EchoPeerReply =
  | { readonly type: "ready"; readonly port: number }
  | { readonly type: "counters"; readonly received: number };
