import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { APIKey } from '@/types/api';
import { keyKeys } from './query-keys';

export function revokeKey(id: number): Promise<void> {
  return api.del<void>(`/api/v1/api-keys/${id}`);
}

/** useRevokeKey revokes a key; it leaves the list at once. */
export function useRevokeKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: revokeKey,
    onSuccess: (_, id) => {
      qc.setQueryData<APIKey[]>(keyKeys.list(), (keys) => keys?.map((k) => (k.id === id ? { ...k, revoked_at: new Date().toISOString() } : k)));
      return qc.invalidateQueries({ queryKey: keyKeys.all });
    },
  });
}
