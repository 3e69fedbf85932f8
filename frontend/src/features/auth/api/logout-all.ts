import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, session } from '@/lib/auth';

export function logoutAll(): Promise<void> {
  return api.post<void>('/api/v1/auth/logout-all');
}

/** useLogoutAll ends every session of the user, on every device. */
export function useLogoutAll() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: logoutAll,
    onSuccess: () => {
      session.endEverywhere();
      qc.clear();
    },
  });
}
