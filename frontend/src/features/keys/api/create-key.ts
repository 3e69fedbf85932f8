import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/auth';
import type { CreateAPIKeyRequest, CreatedAPIKey } from '@/types/api';
import { keyKeys } from './query-keys';

export const createKeyInputSchema = z.object({
  name: z.string().trim().min(1, 'fields.required').max(100, 'fields.tooLong100'),
});
export type CreateKeyInput = z.infer<typeof createKeyInputSchema>;

/** createKey returns the key itself, in this answer only. */
export function createKey(req: CreateAPIKeyRequest): Promise<CreatedAPIKey> {
  return api.post<CreatedAPIKey>('/api/v1/api-keys', req);
}

export function useCreateKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: createKey,
    onSuccess: () => qc.invalidateQueries({ queryKey: keyKeys.all }),
  });
}
