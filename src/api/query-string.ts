// The query string parser handed to fastify: every parameter as a list of values, so a repeated
// parameter is visible, and a value whose percent-encoding is not UTF-8 kept as null (not
// silently turned into U+FFFD), so the route can answer 400.

/** name -> every value given, in order; null for a value that is not UTF-8. */
export type ParsedQuery = Readonly<Record<string, readonly (string | null)[]>>;

export function parseQueryString(text: string): ParsedQuery {
  const query: Record<string, (string | null)[]> = Object.create(null) as Record<string, (string | null)[]>;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = decodeComponent(equals === -1 ? pair : pair.slice(0, equals));
    if (name === null) continue;
    const value = equals === -1 ? "" : decodeComponent(pair.slice(equals + 1));
    (query[name] ??= []).push(value);
  }
  return query;
}

/** application/x-www-form-urlencoded: "+" is a space; null when the bytes are not UTF-8. */
function decodeComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return null;
  }
}
