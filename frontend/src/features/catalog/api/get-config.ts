import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { PublicConfig } from '@/types/api';

export const configKeys = { all: ['config'] as const };

export function getConfig(): Promise<PublicConfig> {
  return api.request<PublicConfig>('/api/v1/config', { auth: false });
}

export const getConfigQueryOptions = () => queryOptions({ queryKey: configKeys.all, queryFn: getConfig, staleTime: 10 * 60_000 });

export function useConfig() {
  return useQuery(getConfigQueryOptions());
}
