import { useMutation } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/auth';
import type { PasswordResetRequest } from '@/types/api';

/** One field: an e-mail address or a phone number in international format. */
export const resetIdentifierSchema = z.object({
  identifier: z
    .string()
    .trim()
    .min(1, 'fields.required')
    .refine((s) => s.includes('@') || /^\+[1-9][0-9]{6,14}$/.test(s.replace(/[\s()-]/g, '')), 'fields.identifier'),
});
export type ResetIdentifierInput = z.infer<typeof resetIdentifierSchema>;

/** toResetTarget is {email} or {phone}, as the person typed one or the other. */
export function toResetTarget(identifier: string): PasswordResetRequest {
  const s = identifier.trim();
  return s.includes('@') ? { email: s } : { phone: s.replace(/[\s()-]/g, '') };
}

/**
 * requestPasswordReset asks the portal to send a code by WhatsApp. It
 * answers 202 whether or not an account matches, so it says nothing
 * about who has an account.
 */
export function requestPasswordReset(req: PasswordResetRequest): Promise<void> {
  return api.post<void>('/api/v1/auth/password-reset/request', req, { auth: false });
}

export function useRequestPasswordReset() {
  return useMutation({ mutationFn: requestPasswordReset });
}
