// The dashboard's usage ranges: the last 24 hours by hour, the last 7 and
// 30 Kuwait days by day. The portal widens a range to whole buckets.
export const usageRanges = ['24h', '7d', '30d'] as const;
export type UsageRange = (typeof usageRanges)[number];

const hour = 3600_000;
const day = 24 * hour;
// Kuwait is UTC+3 all year (no daylight saving).
const kuwaitOffset = 3 * hour;

export type RangeWindow = { from: string; to: string; granularity: 'hour' | 'day' };

export function rangeWindow(range: UsageRange, now: Date = new Date()): RangeWindow {
  const t = now.getTime();
  if (range === '24h') {
    const from = Math.floor(t / hour) * hour - 23 * hour;
    return { from: new Date(from).toISOString(), to: now.toISOString(), granularity: 'hour' };
  }
  const days = range === '7d' ? 7 : 30;
  const todayStart = Math.floor((t + kuwaitOffset) / day) * day - kuwaitOffset;
  const from = todayStart - (days - 1) * day;
  return { from: new Date(from).toISOString(), to: now.toISOString(), granularity: 'day' };
}
