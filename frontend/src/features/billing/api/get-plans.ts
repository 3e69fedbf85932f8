import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/auth';
import type { Plan, PlanList } from '@/types/api';
import { billingKeys } from './query-keys';

export function getPlans(): Promise<Plan[]> {
  return api.request<PlanList>('/api/v1/plans', { auth: false }).then((r) => r.data);
}

export const getPlansQueryOptions = () => queryOptions({ queryKey: billingKeys.plans(), queryFn: getPlans, staleTime: 5 * 60_000 });

export function usePlans() {
  return useQuery(getPlansQueryOptions());
}
