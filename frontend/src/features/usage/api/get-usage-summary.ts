import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { UsageSummary } from '@/types/api';
import { usageKeys } from './query-keys';
import { rangeWindow, type UsageRange } from './range';

export function getUsageSummary(range: UsageRange, now = new Date()): Promise<UsageSummary> {
  const w = rangeWindow(range, now);
  return api.get<UsageSummary>('/api/v1/usage/summary', { from: w.from, to: w.to, granularity: w.granularity });
}

export const getUsageSummaryQueryOptions = (range: UsageRange) =>
  queryOptions({ queryKey: usageKeys.summary(range), queryFn: () => getUsageSummary(range), placeholderData: keepPreviousData });

export function useUsageSummary(range: UsageRange) {
  return useQuery(getUsageSummaryQueryOptions(range));
}
