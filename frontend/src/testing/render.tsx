// renderRoute renders the whole app (layout, router, providers) at a path,
// with the portal answered by MSW: route-level tests see what a person
// sees.
import { render } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { AppProvider } from '@/app/provider';
import { routes } from '@/app/router';
import { session } from '@/lib/auth';
import { createI18n, type Language } from '@/lib/i18n';
import { createQueryClient } from '@/lib/query-client';
import ar from '@/locales/ar.json';
import type { TokenResponse } from '@/types/api';
import { aToken } from './data';

export function renderRoute(path: string, o: { signedIn?: TokenResponse | true; language?: Language } = {}) {
  if (o.signedIn) session.signIn(o.signedIn === true ? aToken() : o.signedIn);
  else void session.restore();
  const i18n = createI18n(o.language ?? 'en', { ar });
  const queryClient = createQueryClient();
  queryClient.setDefaultOptions({ queries: { ...queryClient.getDefaultOptions().queries, retry: false } });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const view = render(
    <AppProvider i18n={i18n} queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  return { ...view, router, i18n, queryClient };
}
