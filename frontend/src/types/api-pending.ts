// HAND-WRITTEN, TEMPORARY: the portal API's WhatsApp consent
// (whatsapp_opt_in on register, GET and PATCH /api/v1/me) and password
// reset routes (POST /api/v1/auth/password-reset/request and /confirm)
// are being added to portal-api alongside this app, and openapi.yaml
// does not describe them yet. When it does, run `npm run gen`, replace
// these types with the generated ones in api.ts, and delete this file.
import type { components } from './api.gen';

type Schemas = components['schemas'];

/** What the User schema gains: the WhatsApp consent. */
export type PendingUser = {
  /** Consent to receive WhatsApp messages (receipts, low-credit warnings). */
  whatsapp_opt_in?: boolean;
};

export type RegisterRequest = Schemas['RegisterRequest'] & {
  /** Unchecked by default; the person opts in. */
  whatsapp_opt_in?: boolean;
};

export type UpdateMeRequest = Schemas['UpdateMeRequest'] & {
  whatsapp_opt_in?: boolean | null;
};

/** POST /api/v1/auth/password-reset/request: 202 always (whether or not the account exists). */
export type PasswordResetRequest = { email: string } | { phone: string };

/**
 * POST /api/v1/auth/password-reset/confirm: 204 (or 200) when the code is
 * right; 400 "invalid or expired code" otherwise, with per-field errors.
 */
export type PasswordResetConfirm = ({ email: string } | { phone: string }) & {
  code: string;
  new_password: string;
};
