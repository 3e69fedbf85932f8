import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api-client';

/**
 * shouldRetry retries what may pass a moment later (no answer, 5xx) twice,
 * and never what the portal refused on purpose (4xx).
 */
export function shouldRetry(failures: number, err: unknown): boolean {
  if (failures >= 2) return false;
  if (err instanceof ApiError) return err.status === 0 || err.status >= 500;
  return false;
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 30_000, retry: shouldRetry, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}
