import { infiniteQueryOptions, useInfiniteQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { ReceiptPage } from '@/types/api';
import { usageKeys } from './query-keys';

export const receiptsPageSize = 20;

export function getReceipts(cursor: string | null): Promise<ReceiptPage> {
  return api.get<ReceiptPage>('/api/v1/usage/requests', { limit: receiptsPageSize, cursor });
}

/** The receipts, newest first, a page at a time (keyset cursor). */
export const getReceiptsQueryOptions = () =>
  infiniteQueryOptions({
    queryKey: usageKeys.receipts(),
    queryFn: ({ pageParam }) => getReceipts(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });

export function useReceipts() {
  return useInfiniteQuery(getReceiptsQueryOptions());
}
