import { useMutation, useQueryClient } from '@tanstack/react-query';
import { session } from '@/lib/auth';

/** useLogout ends this session; every tab of this browser signs out. */
export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => session.signOut(),
    onSettled: () => qc.clear(),
  });
}
