// The in-page half of the browser test: two RTCPeerConnections in one page, relay-only, one TURN
// server, one reliable ordered data channel; each side sends its list of messages to the other.
// `exchangeOverRelay` runs inside Chromium (playwright serialises its source), so it must not refer
// to anything outside its own body; the types below describe the few WebRTC APIs it uses, since the
// project compiles without the DOM library.

export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username: string;
  readonly credential: string;
}

/** Where the page takes its RTCConfiguration's iceServers from. */
export type IceServersSource =
  | { readonly from: "given"; readonly iceServers: readonly IceServer[] }
  | {
      /** The page fetches a credential from turnpike's endpoint; it must already be on the endpoint's origin. */
      readonly from: "endpoint";
      /** Same-origin path and query, such as "/api/v1/credentials?username=alice". */
      readonly path: string;
      /** Sent as `Authorization: Bearer <apiKey>`. */
      readonly apiKey: string;
      /** "all": the answer's iceServers, unchanged; "turn-tcp": each entry keeps only its turn:...?transport=tcp URL. */
      readonly keep: "all" | "turn-tcp";
    };

export interface RelayExchangeOptions {
  readonly iceServers: IceServersSource;
  /** What each side sends, in order. */
  readonly messages: Readonly<Record<PeerName, readonly string[]>>;
  /** Fetching the credential, gathering, connecting and the whole exchange together, inside the page. */
  readonly timeoutMs: number;
}

export type PeerName = "offerer" | "answerer";

export interface GatheredCandidate {
  readonly peer: PeerName;
  /** RTCIceCandidate.type: "host", "srflx", "prflx" or "relay". */
  readonly type: string | null;
  readonly candidate: string;
}

export interface SelectedCandidatePair {
  readonly peer: PeerName;
  /** True once ICE has agreed on this pair; its `state` may read "in-progress" during a consent check. */
  readonly nominated: boolean;
  readonly local: {
    readonly candidateType: string;
    readonly address: string;
    readonly port: number;
    readonly protocol: string;
    /** How the browser reaches the TURN server: "udp", "tcp" or "tls". */
    readonly relayProtocol: string | undefined;
    readonly url: string | undefined;
  };
  readonly remote: { readonly candidateType: string; readonly address: string; readonly port: number };
}

export interface RelayExchangeResult {
  /** Set when something did not happen in time; the other fields say how far it got. */
  readonly failure: string | undefined;
  /** The endpoint's JSON answer, as the page parsed it; undefined for given iceServers. */
  readonly credentialAnswer: unknown;
  /** What both RTCPeerConnections were constructed with. */
  readonly iceServers: readonly IceServer[];
  readonly gathered: readonly GatheredCandidate[];
  readonly candidateErrors: readonly string[];
  readonly selectedPairs: readonly SelectedCandidatePair[];
  /** What each side received, in arrival order. */
  readonly received: Readonly<Record<PeerName, readonly string[]>>;
}

interface StatsEntry {
  readonly id: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

interface DataChannel {
  readonly readyState: string;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
}

interface PeerConnection {
  readonly iceGatheringState: string;
  readonly iceConnectionState: string;
  readonly connectionState: string;
  readonly localDescription: unknown;
  onicecandidate: ((event: { candidate: { type: string | null; candidate: string } | null }) => void) | null;
  onicecandidateerror: ((event: { errorCode: number; errorText: string; url: string }) => void) | null;
  ondatachannel: ((event: { channel: DataChannel }) => void) | null;
  createDataChannel(label: string, options: { ordered: boolean }): DataChannel;
  setLocalDescription(): Promise<void>;
  setRemoteDescription(description: unknown): Promise<void>;
  addIceCandidate(candidate: unknown): Promise<void>;
  getStats(): Promise<{ forEach(callback: (entry: StatsEntry) => void): void }>;
  close(): void;
}

interface PageGlobals {
  RTCPeerConnection: new (configuration: { iceServers: readonly IceServer[]; iceTransportPolicy: "relay" }) => PeerConnection;
}

export async function exchangeOverRelay(options: RelayExchangeOptions): Promise<RelayExchangeResult> {
  const { RTCPeerConnection } = globalThis as unknown as PageGlobals;
  const deadline = Date.now() + options.timeoutMs;
  const source = options.iceServers;

  let credentialAnswer: unknown;
  let iceServers: IceServer[];
  if (source.from === "given") {
    iceServers = [...source.iceServers];
  } else {
    const notFetched = (why: string): RelayExchangeResult => ({
      failure: `credential not fetched: ${why}`,
      credentialAnswer,
      iceServers: [],
      gathered: [],
      candidateErrors: [],
      selectedPairs: [],
      received: { offerer: [], answerer: [] },
    });
    try {
      const response = await fetch(source.path, {
        headers: { Authorization: `Bearer ${source.apiKey}` },
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
      const body = await response.text();
      if (response.status !== 200) return notFetched(`HTTP ${response.status} ${body}`);
      credentialAnswer = JSON.parse(body);
    } catch (error) {
      return notFetched(String(error));
    }
    const answered = (credentialAnswer as { iceServers?: unknown }).iceServers;
    if (!Array.isArray(answered)) return notFetched("the answer has no iceServers array");
    // "all" hands the parsed array itself to RTCPeerConnection: the answer must work as it comes.
    iceServers =
      source.keep === "all"
        ? (answered as IceServer[])
        : (answered as IceServer[])
            .map((server) => ({
              ...server,
              urls: (typeof server.urls === "string" ? [server.urls] : server.urls).filter(
                (url) => url.startsWith("turn:") && url.endsWith("?transport=tcp"),
              ),
            }))
            .filter((server) => server.urls.length > 0);
  }

  const configuration = { iceServers, iceTransportPolicy: "relay" as const };
  const peers: Record<PeerName, PeerConnection> = {
    offerer: new RTCPeerConnection(configuration),
    answerer: new RTCPeerConnection(configuration),
  };
  const gathered: GatheredCandidate[] = [];
  const candidateErrors: string[] = [];
  const received: Record<PeerName, string[]> = { offerer: [], answerer: [] };

  /** Polls `condition` until it holds; false once the shared deadline has passed. */
  const waitFor = async (condition: () => boolean): Promise<boolean> => {
    while (!condition()) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  };

  const gatheringDone: Record<PeerName, boolean> = { offerer: false, answerer: false };
  for (const [peer, other] of [
    ["offerer", "answerer"],
    ["answerer", "offerer"],
  ] as const) {
    peers[peer].onicecandidate = ({ candidate }) => {
      if (candidate === null) {
        gatheringDone[peer] = true;
        return;
      }
      gathered.push({ peer, type: candidate.type, candidate: candidate.candidate });
      peers[other]
        .addIceCandidate(candidate)
        .catch((error: unknown) => candidateErrors.push(`${other}: addIceCandidate: ${String(error)}`));
    };
    peers[peer].onicecandidateerror = ({ errorCode, errorText, url }) =>
      candidateErrors.push(`${peer}: ${errorCode} ${errorText} (${url})`);
  }

  const channels: Partial<Record<PeerName, DataChannel>> = {};
  const attach = (peer: PeerName, channel: DataChannel): void => {
    channels[peer] = channel;
    channel.onmessage = ({ data }) => received[peer].push(String(data));
  };
  attach("offerer", peers.offerer.createDataChannel("turnpike", { ordered: true }));
  peers.answerer.ondatachannel = ({ channel }) => attach("answerer", channel);

  const selectedPairs: SelectedCandidatePair[] = [];
  let failure: string | undefined;
  try {
    await peers.offerer.setLocalDescription();
    await peers.answerer.setRemoteDescription(peers.offerer.localDescription);
    await peers.answerer.setLocalDescription();
    await peers.offerer.setRemoteDescription(peers.answerer.localDescription);

    const isOpen = (peer: PeerName): boolean => channels[peer]?.readyState === "open";
    if (!(await waitFor(() => isOpen("offerer") && isOpen("answerer")))) {
      failure = `data channel not open: ICE ${peers.offerer.iceConnectionState}/${peers.answerer.iceConnectionState}`;
    } else {
      for (const peer of ["offerer", "answerer"] as const) {
        for (const text of options.messages[peer]) channels[peer]?.send(text);
      }
      const allArrived = (): boolean =>
        received.offerer.length >= options.messages.answerer.length &&
        received.answerer.length >= options.messages.offerer.length;
      if (!(await waitFor(allArrived))) failure = "not every message arrived";
    }
    if (!(await waitFor(() => gatheringDone.offerer && gatheringDone.answerer))) {
      failure ??= "ICE gathering did not complete";
    }

    // The controlled side (the answerer) may pick a writable pair before the controlling side's
    // USE-CANDIDATE for it arrives (RFC 8445 §8.1.1); ask again until ICE has agreed on both sides.
    const readSelectedPairs = async (): Promise<SelectedCandidatePair[]> => {
      const pairs: SelectedCandidatePair[] = [];
      for (const peer of ["offerer", "answerer"] as const) {
        const entries = new Map<string, StatsEntry>();
        (await peers[peer].getStats()).forEach((entry) => entries.set(entry.id, entry));
        for (const transport of [...entries.values()].filter((entry) => entry.type === "transport")) {
          const pair = entries.get(String(transport["selectedCandidatePairId"]));
          const local = entries.get(String(pair?.["localCandidateId"]));
          const remote = entries.get(String(pair?.["remoteCandidateId"]));
          if (pair === undefined || local === undefined || remote === undefined) continue;
          pairs.push({
            peer,
            nominated: pair["nominated"] === true,
            local: {
              candidateType: String(local["candidateType"]),
              address: String(local["address"]),
              port: Number(local["port"]),
              protocol: String(local["protocol"]),
              relayProtocol: local["relayProtocol"] === undefined ? undefined : String(local["relayProtocol"]),
              url: local["url"] === undefined ? undefined : String(local["url"]),
            },
            remote: { candidateType: String(remote["candidateType"]), address: String(remote["address"]), port: Number(remote["port"]) },
          });
        }
      }
      return pairs;
    };
    for (;;) {
      const pairs = await readSelectedPairs();
      const agreed = pairs.length >= 2 && pairs.every((pair) => pair.nominated);
      if (agreed || failure !== undefined || Date.now() >= deadline) {
        selectedPairs.push(...pairs);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    failure = `exception: ${String(error)}`;
  } finally {
    peers.offerer.close();
    peers.answerer.close();
  }
  return { failure, credentialAnswer, iceServers, gathered, candidateErrors, selectedPairs, received };
}
