// The Prometheus text format, reduced to one number per metric name (label sets are summed).
export type MetricValues = ReadonlyMap<string, number>;

export function parseMetrics(text: string): MetricValues {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values.set(match[1]!, (values.get(match[1]!) ?? 0) + value);
  }
  return values;
}

export function metric(values: MetricValues, name: string): number {
  return values.get(name) ?? Number.NaN;
}
