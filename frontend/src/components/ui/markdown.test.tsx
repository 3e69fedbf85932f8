import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { I18nextProvider } from 'react-i18next';
import { describe, expect, it } from 'vitest';
import { createI18n } from '@/lib/i18n';
import { Markdown, parseMarkdown } from './markdown';

describe('Markdown', () => {
  it('parses the blocks the text files use', () => {
    const blocks = parseMarkdown('# Title\n\nA **b** `c`.\n\n- one\n- two\n\n```\ncode {x}\n```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n{{slot:plans}}\n');
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'code', 'table', 'slot']);
  });

  it('renders text as elements, fills placeholders and slots, never HTML', () => {
    render(
      <I18nextProvider i18n={createI18n('en')}>
        <MemoryRouter>
          <Markdown
            text={'# Docs\n\nBase: `{{url}}` and [the dashboard](/dashboard) <img src=x onerror=alert(1)>\n\n{{slot:extra}}\n'}
            vars={{ url: 'https://gw.example/v1' }}
            slots={{ extra: <p>slotted</p> }}
          />
        </MemoryRouter>
      </I18nextProvider>,
    );
    expect(screen.getByRole('heading', { name: 'Docs' })).toBeInTheDocument();
    expect(screen.getByText('https://gw.example/v1')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'the dashboard' })).toHaveAttribute('href', '/dashboard');
    expect(screen.getByText('slotted')).toBeInTheDocument();
    expect(document.querySelector('img')).toBeNull();
    expect(screen.getByText(/<img src=x/)).toBeInTheDocument();
  });
});
