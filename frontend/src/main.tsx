import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { AppProvider } from './app/provider';
import { createRouter } from './app/router';
import { session } from './lib/auth';
import { createI18n, initialLanguage, switchLanguage } from './lib/i18n';
import { createQueryClient } from './lib/query-client';

const language = initialLanguage();
const i18n = createI18n('en');
const queryClient = createQueryClient();
const router = createRouter();

// Signed in already? The refresh cookie says (one tab at a time).
void session.restore();

function render() {
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <AppProvider i18n={i18n} queryClient={queryClient}>
        <RouterProvider router={router} />
      </AppProvider>
    </StrictMode>,
  );
}

// Arabic's catalog arrives first, so the page never shows in English.
if (language === 'en') render();
else void switchLanguage(i18n, language).then(render, render);
