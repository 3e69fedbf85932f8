// Short names for the generated OpenAPI types (api.gen.ts, made by
// `npm run gen` from portal-api/internal/api/openapi.yaml).
import type { components } from './api.gen';

type Schemas = components['schemas'];

export type ErrorBody = Schemas['Error'];
export type FieldError = Schemas['FieldError'];
export type User = Schemas['User'];
export type TokenResponse = Omit<Schemas['TokenResponse'], 'user'> & { user: User };
export type UserResponse = { user: User };
export type LoginRequest = Schemas['LoginRequest'];
export type ChangePasswordRequest = Schemas['ChangePasswordRequest'];
export type APIKey = Schemas['APIKey'];
export type APIKeyList = Schemas['APIKeyList'];
export type CreatedAPIKey = Schemas['CreatedAPIKey'];
export type CreateAPIKeyRequest = Schemas['CreateAPIKeyRequest'];
export type PublicConfig = Schemas['PublicConfig'];
export type Model = Schemas['Model'];
export type ModelList = Schemas['ModelList'];
export type Plan = Schemas['Plan'];
export type PlanList = Schemas['PlanList'];
export type Pack = Schemas['Pack'];
export type PackList = Schemas['PackList'];
export type Billing = Schemas['Billing'];
export type Payment = Schemas['Payment'];
export type PaymentPage = Schemas['PaymentPage'];
export type CheckoutRequest = Schemas['CheckoutRequest'];
export type CheckoutResponse = Schemas['CheckoutResponse'];
export type UsageTotals = Schemas['UsageTotals'];
export type UsageBucket = Schemas['UsageBucket'];
export type UsageSummary = Schemas['UsageSummary'];
export type UsageModel = Schemas['UsageModel'];
export type UsageModels = Schemas['UsageModels'];
export type Receipt = Schemas['Receipt'];
export type ReceiptPage = Schemas['ReceiptPage'];
export type Locale = Schemas['User']['locale'];

export type RegisterRequest = Schemas['RegisterRequest'];
export type UpdateMeRequest = Schemas['UpdateMeRequest'];
export type PasswordResetRequest = Schemas['PasswordResetRequest'];
export type PasswordResetConfirm = Schemas['PasswordResetConfirmRequest'];
