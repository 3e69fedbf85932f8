// Numbers, money and dates for the page's language. Money is KWD with
// three decimals (1 KWD = 1000 fils, kept as integer fils); dates and
// times are Kuwait's (Asia/Kuwait); digits are Latin in both languages,
// chosen once, so that amounts, keys and code read the same everywhere.
import type { Language } from './i18n';

export const timeZone = 'Asia/Kuwait';

export function intlLocale(lng: string): string {
  return lng === 'ar' ? 'ar-KW-u-nu-latn' : 'en-GB';
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(key: string, make: () => T): T {
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f;
}

export function formatNumber(n: number, lng: Language | string): string {
  return cached(`n:${lng}`, () => new Intl.NumberFormat(intlLocale(lng))).format(n);
}

/** Compact counts for chart axes (1.2K). */
export function formatCompact(n: number, lng: Language | string): string {
  return cached(`c:${lng}`, () => new Intl.NumberFormat(intlLocale(lng), { notation: 'compact', maximumFractionDigits: 1 })).format(n);
}

/** formatKWD shows integer fils as KWD with exactly three decimals. */
export function formatKWD(fils: number, lng: Language | string): string {
  const f = cached(
    `kwd:${lng}`,
    () =>
      new Intl.NumberFormat(intlLocale(lng), {
        style: 'currency',
        currency: 'KWD',
        minimumFractionDigits: 3,
        maximumFractionDigits: 3,
      }),
  );
  return f.format(fils / 1000);
}

export function formatDateTime(iso: string | Date, lng: Language | string): string {
  return cached(`dt:${lng}`, () => new Intl.DateTimeFormat(intlLocale(lng), { timeZone, dateStyle: 'medium', timeStyle: 'short' })).format(
    new Date(iso),
  );
}

export function formatDate(iso: string | Date, lng: Language | string): string {
  return cached(`d:${lng}`, () => new Intl.DateTimeFormat(intlLocale(lng), { timeZone, dateStyle: 'medium' })).format(new Date(iso));
}

/** A Kuwait calendar day given as YYYY-MM-DD (the portal's renewal_date). */
export function formatDay(day: string, lng: Language | string): string {
  // Noon UTC is the same calendar day in Kuwait (UTC+3).
  return formatDate(new Date(`${day}T12:00:00Z`), lng);
}

/** Chart labels: an hour ("14:00") or a day ("7 Dec") in Kuwait time. */
export function formatBucket(iso: string, granularity: 'hour' | 'day', lng: Language | string): string {
  const opts: Intl.DateTimeFormatOptions =
    granularity === 'hour' ? { timeZone, hour: '2-digit', minute: '2-digit', hour12: false } : { timeZone, day: 'numeric', month: 'short' };
  return cached(`b:${granularity}:${lng}`, () => new Intl.DateTimeFormat(intlLocale(lng), opts)).format(new Date(iso));
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

/** "3 minutes ago", for times of the last week; older ones as a date. */
export function formatRelative(iso: string, lng: Language | string, now: Date = new Date()): string {
  const secs = Math.round((new Date(iso).getTime() - now.getTime()) / 1000);
  if (Math.abs(secs) > 7 * 24 * 3600) return formatDate(iso, lng);
  const rtf = cached(`r:${lng}`, () => new Intl.RelativeTimeFormat(intlLocale(lng), { numeric: 'auto' }));
  for (const [unit, size] of units) {
    if (Math.abs(secs) >= size || unit === 'second') return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(secs, 'second');
}
