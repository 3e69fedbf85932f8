import { useMutation } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/auth';
import type { RegisterRequest, UserResponse } from '@/types/api';

/** Dial codes offered first; Kuwait's is the default. */
export const dialCodes = ['965', '966', '971', '973', '974', '968', '20', '962', '961', '1', '44', '91'] as const;

const utf8 = new TextEncoder();

export const registerInputSchema = z
  .object({
    name: z.string().trim().min(1, 'fields.required').max(100, 'fields.tooLong100'),
    email: z
      .string()
      .trim()
      .min(1, 'fields.required')
      .max(254, 'fields.tooLong254')
      .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'fields.email'),
    dial: z.string().regex(/^[1-9][0-9]{0,3}$/, 'fields.phone'),
    phone: z
      .string()
      .transform((s) => s.replace(/[\s()-]/g, '').replace(/^0+/, ''))
      .pipe(z.string().regex(/^[0-9]{4,14}$/, 'fields.phoneLocal')),
    password: z
      .string()
      .min(10, 'fields.passwordShort')
      .refine((p) => utf8.encode(p).length <= 72, 'fields.passwordLong')
      .refine((p) => p.trim() !== '', 'fields.passwordSpaces'),
    whatsapp_opt_in: z.boolean(),
  })
  .refine((v) => /^\+[1-9][0-9]{6,14}$/.test(`+${v.dial}${v.phone}`), { path: ['phone'], message: 'fields.phone' });

export type RegisterFormValues = z.input<typeof registerInputSchema>;
export type RegisterInput = z.output<typeof registerInputSchema>;

export function toRegisterRequest(v: RegisterInput, locale: 'ar' | 'en'): RegisterRequest {
  return {
    name: v.name,
    email: v.email,
    phone: `+${v.dial}${v.phone}`,
    password: v.password,
    locale,
    whatsapp_opt_in: v.whatsapp_opt_in,
  };
}

/** register creates the account; it does not log in. */
export function register(req: RegisterRequest): Promise<UserResponse> {
  return api.post<UserResponse>('/api/v1/auth/register', req, { auth: false });
}

export function useRegister() {
  return useMutation({ mutationFn: register });
}
