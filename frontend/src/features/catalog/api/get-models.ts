import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { ModelList } from '@/types/api';

export const modelKeys = { all: ['models'] as const };

export function getModels(): Promise<ModelList> {
  return api.request<ModelList>('/api/v1/models', { auth: false });
}

export const getModelsQueryOptions = () => queryOptions({ queryKey: modelKeys.all, queryFn: getModels, staleTime: 5 * 60_000 });

export function useModels() {
  return useQuery(getModelsQueryOptions());
}
