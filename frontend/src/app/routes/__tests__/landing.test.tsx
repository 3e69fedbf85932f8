import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderRoute } from '@/testing/render';

describe('landing', () => {
  it('shows the plans, packs and models from the portal, and examples with the real gateway URL', async () => {
    renderRoute('/');
    expect(await screen.findByRole('heading', { level: 1 })).toHaveTextContent('billed by the token');
    const pricing = screen.getByRole('region', { name: 'Plans and prices' });
    expect(await within(pricing).findByRole('heading', { name: 'Pro' })).toBeInTheDocument();
    expect(within(pricing).getByText('KWD 15.000')).toBeInTheDocument();
    expect(within(pricing).getByText('20,000 credits')).toBeInTheDocument();
    expect(within(pricing).getByText('15,000 credits')).toBeInTheDocument();
    const models = screen.getAllByRole('region', { name: 'Models' })[0];
    expect(await within(models).findByText('qwen2.5:72b')).toBeInTheDocument();
    expect(within(models).getByText('A request served in the cloud costs 2× the local price.')).toBeInTheDocument();
    const code = screen.getByRole('region', { name: 'Start in a minute' });
    await waitFor(() => expect(within(code).getByLabelText('Code example')).toHaveTextContent('curl https://gw.example/v1/chat/completions'));
    const user = userEvent.setup();
    await user.click(within(code).getByRole('radio', { name: 'Python' }));
    expect(within(code).getByLabelText('Code example')).toHaveTextContent('OpenAI(base_url="https://gw.example/v1"');
    const write = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText: write }, configurable: true });
    await user.click(within(code).getByRole('button', { name: 'Copy code' }));
    expect(write).toHaveBeenCalledWith(expect.stringContaining('from openai import OpenAI'));
    expect(await within(code).findByText('Copied')).toBeInTheDocument();
    expect(screen.getAllByRole('link', { name: 'Create an account' })[0]).toHaveAttribute('href', '/register');
  });

  it('in Arabic: KWD with three decimals and Latin digits, mirrored', async () => {
    renderRoute('/', { language: 'ar' });
    const pricing = await screen.findByRole('region', { name: 'الباقات والأسعار' });
    expect(await within(pricing).findByRole('heading', { name: 'الاحترافية' })).toBeInTheDocument();
    expect(within(pricing).getByText(/15\.000/)).toHaveTextContent(/د\.ك/);
    expect(document.documentElement.dir).toBe('rtl');
  });

  it('unknown pages get the 404 page', async () => {
    renderRoute('/no/such/page');
    expect(await screen.findByRole('heading', { name: 'Page not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go to the home page' })).toHaveAttribute('href', '/');
  });
});
