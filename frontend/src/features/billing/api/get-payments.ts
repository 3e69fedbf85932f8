import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { PaymentPage } from '@/types/api';
import { billingKeys } from './query-keys';

export const paymentsPageSize = 10;

export function getPayments(cursor: string | null): Promise<PaymentPage> {
  return api.get<PaymentPage>('/api/v1/billing/payments', { limit: paymentsPageSize, cursor });
}

export const getPaymentsQueryOptions = () =>
  infiniteQueryOptions({
    queryKey: billingKeys.payments(),
    queryFn: ({ pageParam }) => getPayments(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });

export function usePayments() {
  return useInfiniteQuery(getPaymentsQueryOptions());
}
