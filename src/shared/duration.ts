/** Parse Temporal-style durations ("5 minutes", "2 days", "30s") into milliseconds. */
const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

export function durationMs(value: string): number {
  const m = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(value);
  const unit = m?.[2] ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m?.[1] || unit === undefined) throw new Error(`not a duration: ${JSON.stringify(value)} (try "5 minutes")`);
  return Number.parseInt(m[1], 10) * unit;
}
