import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { Pack, PackList } from '@/types/api';
import { billingKeys } from './query-keys';

export function getPacks(): Promise<Pack[]> {
  return api.request<PackList>('/api/v1/topup-packs', { auth: false }).then((r) => r.data);
}

export const getPacksQueryOptions = () => queryOptions({ queryKey: billingKeys.packs(), queryFn: getPacks, staleTime: 5 * 60_000 });

export function usePacks() {
  return useQuery(getPacksQueryOptions());
}
