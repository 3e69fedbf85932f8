import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it, vi } from 'vitest';
import { createI18n } from '@/lib/i18n';
import { ErrorBoundary } from './error-boundary';

describe('ErrorBoundary', () => {
  it('shows what happened with a retry that renders the page again', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    let fail = true;
    function Page() {
      if (fail) throw new Error('boom');
      return <p>the page</p>;
    }
    const onReset = vi.fn();
    render(
      <I18nextProvider i18n={createI18n('en')}>
        <ErrorBoundary onReset={onReset}>
          <Page />
        </ErrorBoundary>
      </I18nextProvider>,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('Something went wrong');
    fail = false;
    await userEvent.setup().click(screen.getByRole('button', { name: 'Try again' }));
    expect(screen.getByText('the page')).toBeInTheDocument();
    expect(onReset).toHaveBeenCalledTimes(1);
  });

  it('asks for a reload when a part of the app failed to download', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    function Page(): never {
      throw new TypeError('Failed to fetch dynamically imported module: /assets/dashboard-abc.js');
    }
    render(
      <I18nextProvider i18n={createI18n('en')}>
        <ErrorBoundary>
          <Page />
        </ErrorBoundary>
      </I18nextProvider>,
    );
    expect(screen.getByRole('button', { name: 'Reload the page' })).toBeInTheDocument();
  });
});
