import { lazy, type ComponentType } from 'react';
import { createBrowserRouter, type RouteObject } from 'react-router';
import { RouteError } from '@/components/errors/route-error';
import { SiteLayout } from './layout/site-layout';
import { paths } from '@/config/paths';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { LandingRoute } from './routes/landing';
import type { LegalDoc } from './routes/legal-docs';

// Every page but the landing page loads on demand, so the first visit
// downloads only what it shows (the bundle budget holds it).
function page<K extends string, P extends object = object>(load: () => Promise<Record<K, ComponentType<P>>>, name: K) {
  return lazy(() => load().then((m) => ({ default: m[name] })));
}
const Login = page(() => import('./routes/login'), 'LoginRoute');
const Register = page(() => import('./routes/register'), 'RegisterRoute');
const ForgotPassword = page(() => import('./routes/forgot-password'), 'ForgotPasswordRoute');
const Dashboard = page(() => import('./routes/dashboard'), 'DashboardRoute');
const Billing = page(() => import('./routes/billing'), 'BillingRoute');
const BillingResult = page(() => import('./routes/billing-result'), 'BillingResultRoute');
const Settings = page(() => import('./routes/settings'), 'SettingsRoute');
const Docs = page(() => import('./routes/docs'), 'DocsRoute');
const Legal = page<'LegalRoute', { doc: LegalDoc }>(() => import('./routes/legal'), 'LegalRoute');
const NotFound = page(() => import('./routes/not-found'), 'NotFoundRoute');

export const routes: RouteObject[] = [
  {
    element: <SiteLayout />,
    errorElement: <RouteError />,
    children: [
      { path: paths.home, element: <LandingRoute /> },
      { path: paths.login, element: <Login /> },
      { path: paths.register, element: <Register /> },
      { path: paths.forgotPassword, element: <ForgotPassword /> },
      { path: paths.docs, element: <Docs /> },
      { path: paths.terms, element: <Legal doc="terms" /> },
      { path: paths.privacy, element: <Legal doc="privacy" /> },
      { path: paths.refunds, element: <Legal doc="refunds" /> },
      { path: paths.contact, element: <Legal doc="contact" /> },
      {
        path: paths.dashboard,
        element: (
          <RequireAuth>
            <Dashboard />
          </RequireAuth>
        ),
      },
      {
        path: paths.billing,
        element: (
          <RequireAuth>
            <Billing />
          </RequireAuth>
        ),
      },
      {
        path: paths.billingResult,
        element: (
          <RequireAuth>
            <BillingResult />
          </RequireAuth>
        ),
      },
      {
        path: paths.settings,
        element: (
          <RequireAuth>
            <Settings />
          </RequireAuth>
        ),
      },
      { path: '*', element: <NotFound /> },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
