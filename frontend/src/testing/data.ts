// Data generators in the portal API's shapes (the generated types).
import type { APIKey, Billing, Model, ModelList, Pack, Payment, Plan, Receipt, TokenResponse, UsageSummary, UsageTotals, User } from '@/types/api';

export function aUser(over: Partial<User> = {}): User {
  return {
    id: 7,
    account_id: 7,
    email: 'fatima@example.com',
    phone: '+96512345678',
    name: 'Fatima',
    role: 'user',
    locale: 'en',
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    whatsapp_opt_in: false,
    ...over,
  };
}

let tokenSeq = 0;
export function aToken(user: User = aUser()): TokenResponse {
  tokenSeq++;
  return { access_token: `access-${tokenSeq}`, token_type: 'Bearer', expires_in: 900, user };
}

export const plans: Plan[] = [
  {
    id: 1, code: 'basic', name: 'Basic', price_fils: 5000, price: '5.000 KWD', currency: 'KWD', credits: 5000, duration_days: 30,
    rate_limit_per_minute: 10, model_classes: ['small', 'medium'], cloud_allowed: false, enterprise_models: false, teams_allowed: false,
    features: ['Small and medium models'],
  },
  {
    id: 2, code: 'pro', name: 'Pro', price_fils: 15000, price: '15.000 KWD', currency: 'KWD', credits: 20000, duration_days: 30,
    rate_limit_per_minute: 30, model_classes: ['small', 'medium', 'large', 'cloud'], cloud_allowed: true, enterprise_models: false, teams_allowed: false,
    features: ['Cloud failover'],
  },
  {
    id: 3, code: 'enterprise', name: 'Enterprise', price_fils: 50000, price: '50.000 KWD', currency: 'KWD', credits: 100000, duration_days: 30,
    rate_limit_per_minute: 60, model_classes: ['small', 'medium', 'large', 'cloud'], cloud_allowed: true, enterprise_models: true, teams_allowed: true,
    features: ['Teams'],
  },
];

export const packs: Pack[] = [
  { id: 1, code: 'topup-5k', name: '5,000 credits', credits: 5000, price_fils: 2500, price: '2.500 KWD', currency: 'KWD' },
  { id: 2, code: 'topup-15k', name: '15,000 credits', credits: 15000, price_fils: 6500, price: '6.500 KWD', currency: 'KWD' },
];

export const models: ModelList = {
  cloud_multiplier: 2,
  data: [
    { id: 'llama3.2:3b', class: 'small', plans: ['basic', 'pro', 'enterprise'], local: true, cloud: false, credits_per_1k_tokens: 1, cloud_credits_per_1k_tokens: null },
    { id: 'qwen2.5:72b', class: 'large', plans: ['pro', 'enterprise'], local: true, cloud: true, credits_per_1k_tokens: 8, cloud_credits_per_1k_tokens: 16 },
  ] satisfies Model[],
};

export function aBilling(over: Partial<Billing> = {}): Billing {
  return {
    status: 'none', plan: null, subscription_id: null, expires_at: null, renewal_date: null, effective_plan: plans[0],
    balance_credits: 0, held_credits: 0, available_credits: 0, period_credits: 0, ...over,
  };
}

export function zeroTotals(over: Partial<UsageTotals> = {}): UsageTotals {
  return {
    requests: 0, prompt_tokens: 0, completion_tokens: 0, credits: 0, local_requests: 0, cloud_requests: 0,
    local_credits: 0, cloud_credits: 0, errors: 0, ...over,
  };
}

export function aSummary(buckets: number, granularity: 'hour' | 'day', fill: Partial<UsageTotals> = {}): UsageSummary {
  const step = granularity === 'hour' ? 3600_000 : 24 * 3600_000;
  const start = Date.parse('2026-12-07T00:00:00Z') - (buckets - 1) * step;
  const list = Array.from({ length: buckets }, (_, i) => ({ start: new Date(start + i * step).toISOString(), ...zeroTotals(fill) }));
  return {
    from: list[0].start, to: new Date(start + buckets * step).toISOString(), granularity, buckets: list,
    totals: zeroTotals(Object.fromEntries(Object.entries(fill).map(([k, v]) => [k, (v as number) * buckets]))),
  };
}

export function aKey(over: Partial<APIKey> = {}): APIKey {
  return { id: 1, name: 'laptop', prefix: 'sk-3kTMd9RNm', created_at: '2026-12-01T10:00:00Z', last_used_at: null, revoked_at: null, ...over };
}

export function aReceipt(over: Partial<Receipt> = {}): Receipt {
  return {
    created_at: '2026-12-07T09:00:00Z', billing_id: '01a25201f14d9500', client_request_id: null, api_key_id: 1, key_name: 'laptop',
    model: 'llama3.2:3b', backend: 'local', prompt_tokens: 12, completion_tokens: 30, held_credits: 5, charged_credits: 1,
    shortfall_credits: 0, status: 'ok', latency_ms: 420, ttfb_ms: 90, ...over,
  };
}

export function aPayment(over: Partial<Payment> = {}): Payment {
  return {
    id: 3, kind: 'topup', status: 'pending', plan_id: null, pack_id: 1, amount_fils: 2500, amount: '2.500 KWD', currency: 'KWD',
    credits: 5000, invoice_id: '1000001', payment_url: 'https://pay.example/1000001', failure_reason: null,
    created_at: '2026-12-07T09:00:00Z', expires_at: '2026-12-09T09:00:00Z', paid_at: null, ...over,
  };
}
