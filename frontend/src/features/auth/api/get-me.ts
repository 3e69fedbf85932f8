import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { User, UserResponse } from '@/types/api';

export const meKeys = { all: ['me'] as const };

export function getMe(): Promise<User> {
  return api.get<UserResponse>('/api/v1/me').then((r) => r.user);
}

export const getMeQueryOptions = () => queryOptions({ queryKey: meKeys.all, queryFn: getMe });

export function useMe() {
  return useQuery(getMeQueryOptions());
}
