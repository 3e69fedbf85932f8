import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { Payment } from '@/types/api';
import { billingKeys } from './query-keys';

export function getPayment(id: number): Promise<Payment> {
  return api.get<Payment>(`/api/v1/billing/payments/${id}`);
}

/** How often the result page asks again while a payment is pending. */
export const paymentPollMs = 2000;

/**
 * getPaymentQueryOptions polls a pending payment until it is final: the
 * browser may come back from MyFatoorah before the webhook or the
 * portal's own check has settled it.
 */
export const getPaymentQueryOptions = (id: number, poll = true) =>
  queryOptions({
    queryKey: billingKeys.payment(id),
    queryFn: () => getPayment(id),
    refetchInterval: (q) => (poll && (!q.state.data || q.state.data.status === 'pending') ? paymentPollMs : false),
    refetchIntervalInBackground: false,
  });

export function usePayment(id: number, poll = true) {
  return useQuery({ ...getPaymentQueryOptions(id, poll), enabled: id > 0 });
}
