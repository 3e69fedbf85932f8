// TanStack Query keys of the billing feature; mutations invalidate by them.
export const billingKeys = {
  all: ['billing'] as const,
  account: () => [...billingKeys.all, 'account'] as const,
  plans: () => [...billingKeys.all, 'plans'] as const,
  packs: () => [...billingKeys.all, 'packs'] as const,
  payments: () => [...billingKeys.all, 'payments'] as const,
  payment: (id: number) => [...billingKeys.all, 'payment', id] as const,
};
