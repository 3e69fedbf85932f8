// Arabic and English. Arabic sets <html lang="ar" dir="rtl"> and the
// layout mirrors through logical CSS properties. Before sign-in the
// language is the one the person chose here (kept in localStorage: a
// preference, not a secret), else the browser's; once signed in it
// follows the account's locale.
import i18next, { type i18n as I18n, type Resource } from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from '@/locales/en.json';

export const languages = ['en', 'ar'] as const;
export type Language = (typeof languages)[number];

const storageKey = 'resayil.language';

export function isLanguage(x: unknown): x is Language {
  return x === 'en' || x === 'ar';
}

export function direction(lng: Language): 'rtl' | 'ltr' {
  return lng === 'ar' ? 'rtl' : 'ltr';
}

export function applyDocumentLanguage(lng: string): void {
  const l: Language = isLanguage(lng) ? lng : 'en';
  document.documentElement.lang = l;
  document.documentElement.dir = direction(l);
}

/** The language to start with: ?lang=, the saved choice, then the browser's. */
export function initialLanguage(): Language {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (isLanguage(fromUrl)) return fromUrl;
  try {
    const saved = localStorage.getItem(storageKey);
    if (isLanguage(saved)) return saved;
  } catch {
    // Storage blocked: fall through to the browser's language.
  }
  return navigator.languages?.some((l) => l.toLowerCase().startsWith('ar')) ? 'ar' : 'en';
}

export function rememberLanguage(lng: Language): void {
  try {
    localStorage.setItem(storageKey, lng);
  } catch {
    // The choice lasts for this page only.
  }
}

// English is in the first bundle (it is also the fallback); Arabic is
// fetched when first needed, so the landing page's JavaScript carries one
// catalog.
const loaders: Record<Language, () => Promise<{ default: unknown }>> = {
  en: () => Promise.resolve({ default: en }),
  ar: () => import('@/locales/ar.json'),
};

/** ensureLanguage loads lng's catalog into inst if it is not there yet. */
export async function ensureLanguage(inst: I18n, lng: Language): Promise<void> {
  if (inst.hasResourceBundle(lng, 'translation')) return;
  const m = await loaders[lng]();
  inst.addResourceBundle(lng, 'translation', m.default, true, true);
}

/** switchLanguage loads the catalog, then shows the page in lng. */
export async function switchLanguage(inst: I18n, lng: Language): Promise<void> {
  await ensureLanguage(inst, lng);
  await inst.changeLanguage(lng);
}

/**
 * createI18n starts in lng when its catalog is given (or English): the
 * page awaits ensureLanguage for another language before it renders.
 */
export function createI18n(lng: Language, catalogs: Partial<Record<Language, unknown>> = {}): I18n {
  const inst = i18next.createInstance();
  const resources = Object.fromEntries(Object.entries({ en, ...catalogs }).map(([k, v]) => [k, { translation: v }])) as Resource;
  inst.use(initReactI18next).init({
    resources,
    lng,
    partialBundledLanguages: true,
    fallbackLng: 'en',
    supportedLngs: [...languages],
    interpolation: { escapeValue: false },
    initAsync: false,
    returnNull: false,
  });
  inst.on('languageChanged', applyDocumentLanguage);
  applyDocumentLanguage(lng);
  return inst;
}
