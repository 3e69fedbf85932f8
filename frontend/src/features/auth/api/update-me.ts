import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, session } from '@/lib/auth';
import type { UpdateMeRequest, User, UserResponse } from '@/types/api';
import { meKeys } from './get-me';

export function updateMe(req: UpdateMeRequest): Promise<User> {
  return api.patch<UserResponse>('/api/v1/me', req).then((r) => r.user);
}

/** useUpdateMe saves the profile; every tab sees the new user (and language). */
export function useUpdateMe() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: updateMe,
    onSuccess: (user) => {
      qc.setQueryData(meKeys.all, user);
      session.setUser(user);
    },
  });
}
