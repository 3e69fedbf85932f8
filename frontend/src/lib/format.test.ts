import { describe, expect, it } from 'vitest';
import { rangeWindow } from '@/features/usage/api/range';
import { formatBucket, formatDateTime, formatDay, formatKWD, formatNumber, formatRelative } from './format';

// Intl puts a no-break space between the currency and the amount.
const plain = (s: string) => s.replace(/\u00a0/g, ' ');

describe('formats', () => {
  it('KWD with three decimals from integer fils, in both languages', () => {
    expect(plain(formatKWD(2500, 'en'))).toBe('KWD 2.500');
    expect(plain(formatKWD(15000, 'en'))).toBe('KWD 15.000');
    expect(plain(formatKWD(1, 'en'))).toBe('KWD 0.001');
    const ar = formatKWD(2500, 'ar');
    expect(ar).toContain('2.500');
    expect(ar).toContain('د.ك');
  });

  it('numbers with Latin digits in both languages', () => {
    expect(formatNumber(1234567, 'en')).toBe('1,234,567');
    expect(formatNumber(1234567, 'ar')).toMatch(/^1[,٬]234[,٬]567$/);
  });

  it('dates and times in Kuwait (UTC+3)', () => {
    // 21:30 UTC is 00:30 the next day in Kuwait.
    expect(formatDateTime('2026-12-07T21:30:00Z', 'en')).toBe('8 Dec 2026, 00:30');
    expect(formatBucket('2026-12-07T21:00:00Z', 'hour', 'en')).toBe('00:00');
    expect(formatBucket('2026-12-07T21:00:00Z', 'day', 'en')).toBe('8 Dec');
    expect(formatDay('2027-01-06', 'en')).toBe('6 Jan 2027');
  });

  it('recent times relative, older ones as a date', () => {
    const now = new Date('2026-12-07T12:00:00Z');
    expect(formatRelative('2026-12-07T11:57:00Z', 'en', now)).toBe('3 minutes ago');
    expect(formatRelative('2026-11-01T12:00:00Z', 'en', now)).toBe('1 Nov 2026');
  });
});

describe('usage ranges', () => {
  const now = new Date('2026-12-07T10:25:00Z'); // 13:25 in Kuwait
  it('24 hours: 24 hour buckets ending with the current hour', () => {
    expect(rangeWindow('24h', now)).toEqual({ from: '2026-12-06T11:00:00.000Z', to: now.toISOString(), granularity: 'hour' });
  });
  it('7 and 30 days: whole Kuwait days, today included', () => {
    // Kuwait's 7 Dec starts at 6 Dec 21:00 UTC.
    expect(rangeWindow('7d', now).from).toBe('2026-11-30T21:00:00.000Z');
    expect(rangeWindow('30d', now).from).toBe('2026-11-07T21:00:00.000Z');
    expect(rangeWindow('30d', now).granularity).toBe('day');
  });
});
