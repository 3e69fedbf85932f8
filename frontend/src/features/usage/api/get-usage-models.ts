import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { UsageModels } from '@/types/api';
import { usageKeys } from './query-keys';
import { rangeWindow, type UsageRange } from './range';

export function getUsageModels(range: UsageRange, now = new Date()): Promise<UsageModels> {
  const w = rangeWindow(range, now);
  return api.get<UsageModels>('/api/v1/usage/models', { from: w.from, to: w.to });
}

export const getUsageModelsQueryOptions = (range: UsageRange) =>
  queryOptions({ queryKey: usageKeys.models(range), queryFn: () => getUsageModels(range), placeholderData: keepPreviousData });

export function useUsageModels(range: UsageRange) {
  return useQuery(getUsageModelsQueryOptions(range));
}
