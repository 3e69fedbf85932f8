import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { CheckoutRequest, CheckoutResponse } from '@/types/api';
import { billingKeys } from './query-keys';

export function checkout(req: CheckoutRequest): Promise<CheckoutResponse> {
  return api.post<CheckoutResponse>('/api/v1/billing/checkout', req);
}

/** goTo leaves the app for MyFatoorah's payment page (a seam for tests). */
export const redirect = { goTo: (url: string) => window.location.assign(url) };

/**
 * useCheckout starts a payment and sends the browser to MyFatoorah's
 * page; it comes back to /billing/result.
 */
export function useCheckout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: checkout,
    onSuccess: (res) => {
      void qc.invalidateQueries({ queryKey: billingKeys.payments() });
      redirect.goTo(res.payment_url);
    },
  });
}
