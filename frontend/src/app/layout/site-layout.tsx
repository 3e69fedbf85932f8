import { useQueryClient } from '@tanstack/react-query';
import { Suspense, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, NavLink, Outlet, useLocation } from 'react-router';
import { paths } from '@/config/paths';
import { useLogout } from '@/features/auth/api/logout';
import { SessionSync } from '@/features/auth/components/session-sync';
import { useSession } from '@/lib/auth';
import { ErrorBoundary } from '@/components/errors/error-boundary';
import { Button, ButtonLink } from '@/components/ui/button';
import { cn } from '@/components/ui/cn';
import { LogoMark, MenuIcon } from '@/components/ui/icons';
import { LanguageSwitch } from './language-switch';
import { PageSkeleton } from '@/components/layouts/page-skeleton';

function navClass({ isActive }: { isActive: boolean }) {
  return cn(
    'rounded-lg px-3 py-2 text-sm font-medium',
    isActive ? 'bg-brand-50 text-brand-800' : 'text-slate-700 hover:bg-slate-100 hover:text-slate-900',
  );
}

function Header() {
  const { t } = useTranslation();
  const s = useSession();
  const logout = useLogout();
  const location = useLocation();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [location.pathname]);
  const signedIn = s.status === 'signed-in';

  const links = signedIn ? (
    <>
      <NavLink to={paths.dashboard} className={navClass}>
        {t('nav.dashboard')}
      </NavLink>
      <NavLink to={paths.billing} className={navClass} end>
        {t('nav.billing')}
      </NavLink>
      <NavLink to={paths.settings} className={navClass}>
        {t('nav.settings')}
      </NavLink>
      <NavLink to={paths.docs} className={navClass}>
        {t('nav.docs')}
      </NavLink>
    </>
  ) : (
    <>
      <Link to={{ pathname: paths.home, hash: '#pricing' }} className={navClass({ isActive: false })}>
        {t('nav.pricing')}
      </Link>
      <Link to={{ pathname: paths.home, hash: '#models' }} className={navClass({ isActive: false })}>
        {t('nav.models')}
      </Link>
      <NavLink to={paths.docs} className={navClass}>
        {t('nav.docs')}
      </NavLink>
    </>
  );

  const actions = signedIn ? (
    <Button variant="secondary" size="sm" loading={logout.isPending} onClick={() => logout.mutate()}>
      {t('nav.logout')}
    </Button>
  ) : s.status === 'signed-out' ? (
    <>
      <ButtonLink to={paths.login} variant="ghost" size="sm">
        {t('nav.login')}
      </ButtonLink>
      <ButtonLink to={paths.register} size="sm">
        {t('nav.register')}
      </ButtonLink>
    </>
  ) : null;

  return (
    <header className="sticky top-0 z-20 border-b border-slate-200 bg-white/95 backdrop-blur">
      <div className="mx-auto flex h-16 max-w-6xl items-center gap-4 px-4 sm:px-6">
        <Link to={signedIn ? paths.dashboard : paths.home} className="flex items-center gap-2 text-lg font-bold text-slate-900">
          <LogoMark />
          <span>{t('brand')}</span>
        </Link>
        <nav aria-label={t('nav.main')} className="hidden items-center gap-1 md:flex">
          {links}
        </nav>
        <div className="ms-auto hidden items-center gap-2 md:flex">
          <LanguageSwitch />
          {actions}
        </div>
        <div className="ms-auto flex items-center gap-1 md:hidden">
          <LanguageSwitch />
          <button
            type="button"
            className="inline-flex size-10 items-center justify-center rounded-lg text-slate-700 hover:bg-slate-100"
            aria-expanded={open}
            aria-controls="mobile-menu"
            onClick={() => setOpen((o) => !o)}
          >
            <MenuIcon />
            <span className="sr-only">{t('nav.menu')}</span>
          </button>
        </div>
      </div>
      {open && (
        <div id="mobile-menu" className="border-t border-slate-200 bg-white px-4 pt-2 pb-4 md:hidden">
          <nav aria-label={t('nav.main')} className="flex flex-col gap-1">
            {links}
          </nav>
          <div className="mt-3 flex flex-wrap gap-2 border-t border-slate-100 pt-3">{actions}</div>
        </div>
      )}
    </header>
  );
}

function Footer() {
  const { t } = useTranslation();
  const year = new Date().getFullYear();
  return (
    <footer className="mt-16 border-t border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-col gap-4 px-4 py-8 text-sm text-slate-600 sm:flex-row sm:items-center sm:justify-between sm:px-6">
        <p>{t('footer.copyright', { year })}</p>
        <nav aria-label={t('footer.legal')} className="flex flex-wrap gap-x-5 gap-y-2">
          <Link className="hover:text-slate-900 hover:underline" to={paths.docs}>
            {t('nav.docs')}
          </Link>
          <Link className="hover:text-slate-900 hover:underline" to={paths.terms}>
            {t('legal.terms')}
          </Link>
          <Link className="hover:text-slate-900 hover:underline" to={paths.privacy}>
            {t('legal.privacy')}
          </Link>
          <Link className="hover:text-slate-900 hover:underline" to={paths.refunds}>
            {t('legal.refunds')}
          </Link>
          <Link className="hover:text-slate-900 hover:underline" to={paths.contact}>
            {t('legal.contact')}
          </Link>
        </nav>
      </div>
    </footer>
  );
}

/** Scrolls to the top on a new page, or to the #section a link names. */
function ScrollManager() {
  const { pathname, hash } = useLocation();
  useEffect(() => {
    if (hash) {
      document.getElementById(hash.slice(1))?.scrollIntoView();
      return;
    }
    window.scrollTo(0, 0);
  }, [pathname, hash]);
  return null;
}

/**
 * SiteLayout is every page's frame: the header with navigation, the
 * language switch and log out; the page, inside an error boundary and a
 * loading skeleton while its code arrives; the footer with the legal pages.
 */
export function SiteLayout() {
  const { t } = useTranslation();
  const location = useLocation();
  const qc = useQueryClient();
  return (
    <div className="flex min-h-screen flex-col">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:start-2 focus:top-2 focus:z-30 focus:rounded focus:bg-white focus:px-3 focus:py-2">
        {t('nav.skip')}
      </a>
      <SessionSync />
      <ScrollManager />
      <Header />
      <main id="main" className="flex-1">
        <ErrorBoundary key={location.pathname} onReset={() => qc.resetQueries()}>
          <Suspense fallback={<PageSkeleton label={t('common.loading')} />}>
            <Outlet />
          </Suspense>
        </ErrorBoundary>
      </main>
      <Footer />
    </div>
  );
}
