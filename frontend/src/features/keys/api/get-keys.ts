import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { APIKey, APIKeyList } from '@/types/api';
import { keyKeys } from './query-keys';

export function getKeys(): Promise<APIKey[]> {
  return api.get<APIKeyList>('/api/v1/api-keys').then((r) => r.data);
}

export const getKeysQueryOptions = () => queryOptions({ queryKey: keyKeys.list(), queryFn: getKeys });

export function useKeys() {
  return useQuery(getKeysQueryOptions());
}
