import type { UsageRange } from './range';

export const usageKeys = {
  all: ['usage'] as const,
  summary: (range: UsageRange) => [...usageKeys.all, 'summary', range] as const,
  models: (range: UsageRange) => [...usageKeys.all, 'models', range] as const,
  receipts: () => [...usageKeys.all, 'receipts'] as const,
};
