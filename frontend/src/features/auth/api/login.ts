import { useMutation } from '@tanstack/react-query';
import { z } from 'zod';
import { api, session } from '@/lib/auth';
import type { LoginRequest, TokenResponse } from '@/types/api';

export const loginInputSchema = z.object({
  email: z.string().trim().min(1, 'fields.required'),
  password: z.string().min(1, 'fields.required'),
  remember_me: z.boolean(),
});
export type LoginInput = z.infer<typeof loginInputSchema>;

export function login(input: LoginRequest): Promise<TokenResponse> {
  return api.post<TokenResponse>('/api/v1/auth/login', input, { auth: false });
}

/** useLogin logs in and starts the session in every tab. */
export function useLogin() {
  return useMutation({
    mutationFn: login,
    onSuccess: (res) => session.signIn(res),
  });
}
