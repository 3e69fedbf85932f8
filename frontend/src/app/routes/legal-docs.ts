export const legalDocs = ['terms', 'privacy', 'refunds', 'contact'] as const;
export type LegalDoc = (typeof legalDocs)[number];
