// One credential request made by the page itself, for the endpoint's refusals; like `exchangeOverRelay`
// it runs inside Chromium, so it refers to nothing outside its own body.

export interface CredentialFetchOptions {
  /** Same-origin path and query; the page must already be on the endpoint's origin. */
  readonly path: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey: string;
  readonly timeoutMs: number;
}

export interface CredentialFetchResult {
  readonly status: number;
  readonly wwwAuthenticate: string | null;
  readonly body: string;
}

export async function fetchCredentialInPage(options: CredentialFetchOptions): Promise<CredentialFetchResult> {
  const response = await fetch(options.path, {
    headers: { Authorization: `Bearer ${options.apiKey}` },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  return { status: response.status, wwwAuthenticate: response.headers.get("www-authenticate"), body: await response.text() };
}
