import { useMutation } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/auth';
import type { PasswordResetConfirm } from '@/types/api';

const utf8 = new TextEncoder();

export const resetConfirmSchema = z.object({
  // Six digits, Latin or Arabic-Indic (the portal reads both).
  code: z
    .string()
    .trim()
    .regex(/^[0-9\u0660-\u0669\u06F0-\u06F9]{6}$/, 'fields.code'),
  new_password: z
    .string()
    .min(10, 'fields.passwordShort')
    .refine((p) => utf8.encode(p).length <= 72, 'fields.passwordLong'),
});
export type ResetConfirmInput = z.infer<typeof resetConfirmSchema>;

/** confirmPasswordReset sets the new password; a wrong or old code is a 400. */
export function confirmPasswordReset(req: PasswordResetConfirm): Promise<void> {
  return api.post<void>('/api/v1/auth/password-reset/confirm', req, { auth: false });
}

export function useConfirmPasswordReset() {
  return useMutation({ mutationFn: confirmPasswordReset });
}
