import { useMutation } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/auth';
import type { ChangePasswordRequest } from '@/types/api';

const utf8 = new TextEncoder();

export const changePasswordInputSchema = z.object({
  current_password: z.string().min(1, 'fields.required'),
  new_password: z
    .string()
    .min(10, 'fields.passwordShort')
    .refine((p) => utf8.encode(p).length <= 72, 'fields.passwordLong'),
});
export type ChangePasswordInput = z.infer<typeof changePasswordInputSchema>;

/** changePassword changes it; the portal ends every other session. */
export function changePassword(req: ChangePasswordRequest): Promise<void> {
  return api.post<void>('/api/v1/me/password', req);
}

export function useChangePassword() {
  return useMutation({ mutationFn: changePassword });
}
