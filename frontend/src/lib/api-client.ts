// The one client of the portal API. Every endpoint file of every feature
// calls through it: it sends the access token, renews it once on a 401
// and retries, and turns every failure into an ApiError whose code the
// pages translate.
import type { ErrorBody, FieldError } from '@/types/api';
import { absolute, RenewUnavailableError, type Session } from './session';

/**
 * The portal's error codes (openapi.yaml's Error.code), and three of the
 * client's own: network (no answer), session_expired (renewal failed) and
 * unknown (an answer in no known shape).
 */
export type ApiErrorCode = ErrorBody['error']['code'] | 'network' | 'session_expired' | 'unknown';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly fields: FieldError[];
  /** Seconds, from Retry-After on a 429. */
  readonly retryAfter?: number;
  /** The portal's X-Request-Id, to quote to support. */
  readonly requestId?: string;

  constructor(o: {
    status: number;
    code: ApiErrorCode;
    message: string;
    fields?: FieldError[];
    retryAfter?: number;
    requestId?: string;
  }) {
    super(o.message);
    this.name = 'ApiError';
    this.status = o.status;
    this.code = o.code;
    this.fields = o.fields ?? [];
    this.retryAfter = o.retryAfter;
    this.requestId = o.requestId;
  }

  /** The portal's message for one request field, if it named it. */
  field(name: string): string | undefined {
    return this.fields.find((f) => f.field === name)?.message;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export type RequestOptions = {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
  /** Send the access token (default true); false for public routes and login. */
  auth?: boolean;
  signal?: AbortSignal;
};

export type ApiClient = {
  request<T>(path: string, o?: RequestOptions): Promise<T>;
  /** Like request, for an answer that is a file (the CSV export). */
  blob(path: string, o?: RequestOptions): Promise<{ blob: Blob; filename: string | null }>;
  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body?: unknown, o?: Omit<RequestOptions, 'method' | 'body'>): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
};

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function toApiError(res: Response): Promise<ApiError> {
  const requestId = res.headers.get('X-Request-Id') ?? undefined;
  const ra = Number(res.headers.get('Retry-After'));
  const retryAfter = Number.isFinite(ra) && ra > 0 ? ra : undefined;
  let body: Partial<ErrorBody> | null = null;
  try {
    body = (await res.json()) as Partial<ErrorBody>;
  } catch {
    body = null;
  }
  const e = body?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ApiError({
      status: res.status,
      code: e.code,
      message: e.message,
      fields: Array.isArray(e.fields) ? e.fields : [],
      retryAfter,
      requestId,
    });
  }
  // A proxy's HTML page, an empty 502: no portal error shape.
  const code: ApiErrorCode = res.status >= 500 ? 'internal' : 'unknown';
  return new ApiError({ status: res.status, code, message: `HTTP ${res.status}`, retryAfter, requestId });
}

function networkError(): ApiError {
  return new ApiError({ status: 0, code: 'network', message: 'The portal cannot be reached.' });
}

function sessionExpired(): ApiError {
  return new ApiError({ status: 401, code: 'session_expired', message: 'Your session has ended.' });
}

export function createApiClient(session: Session, fetchImpl: typeof fetch = (...a) => fetch(...a)): ApiClient {
  async function send(path: string, o: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetchImpl(absolute(withQuery(path, o.query)), {
        method: o.method ?? 'GET',
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        credentials: 'same-origin',
        signal: o.signal,
      });
    } catch (err) {
      if (o.signal?.aborted) throw err;
      throw networkError();
    }
  }

  async function renewOrExpire(stale: string | null): Promise<string> {
    let token: string | null;
    try {
      token = await session.renew(stale);
    } catch (err) {
      if (err instanceof RenewUnavailableError) {
        throw err.status === 0
          ? networkError()
          : new ApiError({ status: err.status, code: 'unavailable', message: err.message });
      }
      throw err;
    }
    if (!token) {
      session.expire();
      throw sessionExpired();
    }
    return token;
  }

  /**
   * respond sends the request; on a 401 it renews once (one tab at a time,
   * see Session.renew) and sends it again. A second 401, or a failed
   * renewal, ends the session everywhere.
   */
  async function respond(path: string, o: RequestOptions): Promise<Response> {
    const auth = o.auth ?? true;
    let token = auth ? session.token : null;
    if (auth && !token) token = await renewOrExpire(null);
    let res = await send(path, o, token);
    if (res.status === 401 && auth) {
      token = await renewOrExpire(token);
      res = await send(path, o, token);
      if (res.status === 401) {
        session.expire();
        throw sessionExpired();
      }
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  async function request<T>(path: string, o: RequestOptions = {}): Promise<T> {
    const res = await respond(path, o);
    if (res.status === 204 || res.status === 202) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function blob(path: string, o: RequestOptions = {}) {
    const res = await respond(path, o);
    const cd = res.headers.get('Content-Disposition') ?? '';
    const m = /filename="?([^";]+)"?/.exec(cd);
    return { blob: await res.blob(), filename: m ? m[1] : null };
  }

  return {
    request,
    blob,
    get: (path, query, signal) => request(path, { query, signal }),
    post: (path, body, o) => request(path, { ...o, method: 'POST', body }),
    patch: (path, body) => request(path, { method: 'PATCH', body }),
    del: (path) => request(path, { method: 'DELETE' }),
  };
}
