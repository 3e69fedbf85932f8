import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { Billing } from '@/types/api';
import { billingKeys } from './query-keys';

export function getBilling(): Promise<Billing> {
  return api.get<Billing>('/api/v1/billing');
}

export const getBillingQueryOptions = () => queryOptions({ queryKey: billingKeys.account(), queryFn: getBilling, staleTime: 10_000 });

/** useBilling is the plan and balance; it refreshes when the tab regains focus. */
export function useBilling() {
  return useQuery(getBillingQueryOptions());
}
