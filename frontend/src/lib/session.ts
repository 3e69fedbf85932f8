// The signed-in session: the access token, kept in this module's memory
// only (never localStorage or sessionStorage, where any script could read
// it), and its renewal through the HttpOnly refresh cookie.
//
// Tabs share the refresh cookie but not memory. The portal rotates the
// refresh token on each renewal, so two tabs renewing at once would race;
// one tab renews at a time (a Web Lock) and hands the new token to the
// others (a BroadcastChannel). The portal's 30-second grace window for a
// just-rotated token is the safety net, not the plan.
import type { TokenResponse, User } from '@/types/api';

export type SessionStatus = 'unknown' | 'signed-in' | 'signed-out';

/** Why a session ended: the person logged out, or renewal failed. */
export type EndReason = 'logout' | 'expired';

export type SessionState = {
  status: SessionStatus;
  user: User | null;
  /** Set when the status is signed-out after a session ended. */
  ended?: EndReason;
};

/** What one tab tells the others. */
export type SessionMessage =
  | { type: 'token'; token: string; user: User }
  | { type: 'user'; user: User }
  | { type: 'ended'; reason: EndReason };

/**
 * The part of the Web Locks API the session uses: request(name, cb), and
 * request(name, {ifAvailable: true}, cb), whose cb gets null when another
 * tab holds the lock.
 */
export type LockManagerLike = {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  request<T>(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T>;
};

/** The part of BroadcastChannel the session uses. */
export type ChannelLike = {
  postMessage(message: SessionMessage): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<SessionMessage>) => void): void;
  close(): void;
};

export type SessionDeps = {
  fetch?: typeof fetch;
  locks?: LockManagerLike;
  channel?: ChannelLike | null;
};

export const renewLockName = 'resayil-session-renew';
export const channelName = 'resayil-session';
const refreshPath = '/api/v1/auth/refresh';
const logoutPath = '/api/v1/auth/logout';

/**
 * absolute makes a path of this origin absolute: browsers resolve a bare
 * path themselves, but the tests' fetch (Node's) needs the origin.
 */
export function absolute(path: string): string {
  const origin = typeof location === 'undefined' ? '' : location.origin;
  return origin && origin !== 'null' ? origin + path : path;
}

/** Thrown by renew when the portal could not answer (down, 5xx). */
export class RenewUnavailableError extends Error {
  constructor(readonly status: number) {
    super(status === 0 ? 'the portal cannot be reached' : `the portal answered ${status}`);
  }
}

/**
 * localLocks serialises renewals within one tab, for browsers (and test
 * environments) without the Web Locks API.
 */
export function localLocks(): LockManagerLike {
  const tails = new Map<string, Promise<unknown>>();
  const held = new Set<string>();
  function request<T>(name: string, a: unknown, b?: unknown): Promise<T> {
    const ifAvailable = b !== undefined;
    const callback = (ifAvailable ? b : a) as (lock: unknown) => Promise<T>;
    if (ifAvailable && held.has(name)) return callback(null);
    const prev = tails.get(name) ?? Promise.resolve();
    held.add(name);
    const grant = async () => {
      held.add(name);
      try {
        return await callback({ name });
      } finally {
        held.delete(name);
      }
    };
    const run = prev.then(grant, grant);
    tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
  return { request } as LockManagerLike;
}

function browserLocks(): LockManagerLike {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return localLocks();
  return locks as unknown as LockManagerLike;
}

/** How long a tab that waited for another's renewal waits for its token. */
const handoverWaitMs = 250;
const unavailable = Symbol('lock held by another tab');

function browserChannel(): ChannelLike | null {
  return typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(channelName);
}

export class Session {
  #token: string | null = null;
  #state: SessionState = { status: 'unknown', user: null };
  #listeners = new Set<() => void>();
  #inflight: Promise<string | null> | null = null;
  #fetch: typeof fetch;
  #locks: LockManagerLike;
  #channel: ChannelLike | null;

  constructor(deps: SessionDeps = {}) {
    this.#fetch = deps.fetch ?? ((...a) => fetch(...a));
    this.#locks = deps.locks ?? browserLocks();
    this.#channel = deps.channel === undefined ? browserChannel() : deps.channel;
    this.#channel?.addEventListener('message', (e) => this.#receive(e.data));
  }

  /** The access token, or null when signed out. */
  get token(): string | null {
    return this.#token;
  }

  getState = (): SessionState => this.#state;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Starts the session login returned, in this tab and the others. */
  signIn(res: TokenResponse): void {
    this.#apply(res.access_token, res.user);
    this.#post({ type: 'token', token: res.access_token, user: res.user });
  }

  /** Replaces the user (after a profile change), in every tab. */
  setUser(user: User): void {
    if (this.#state.status !== 'signed-in') return;
    this.#setState({ status: 'signed-in', user });
    this.#post({ type: 'user', user });
  }

  /**
   * restore asks for a token with the refresh cookie when the page loads:
   * signed in if the cookie still works, signed out otherwise. The portal
   * being down leaves the status unknown no longer: signed out, so public
   * pages work and protected ones send the person to log in.
   */
  async restore(): Promise<void> {
    try {
      const token = await this.renew(null);
      if (!token && this.#state.status === 'unknown') this.#setState({ status: 'signed-out', user: null });
    } catch {
      if (this.#state.status === 'unknown') this.#setState({ status: 'signed-out', user: null });
    }
  }

  /**
   * renew gets a new access token through the refresh cookie, once for any
   * number of callers. stale is the token the caller was refused with (or
   * null): if another tab renewed while this one waited for the lock, its
   * token is used instead of renewing again. Null means the cookie no
   * longer works (the session ended); RenewUnavailableError that the
   * portal could not say.
   */
  renew(stale: string | null): Promise<string | null> {
    if (this.#inflight) return this.#inflight;
    const run = (async () => {
      const now = await this.#locks.request(renewLockName, { ifAvailable: true }, async (lock) =>
        lock ? this.#renewLocked(stale, false) : unavailable,
      );
      if (now !== unavailable) return now;
      // Another tab is renewing: wait for the lock, and for its token.
      return this.#locks.request(renewLockName, () => this.#renewLocked(stale, true));
    })();
    this.#inflight = run;
    const clear = () => {
      if (this.#inflight === run) this.#inflight = null;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * renewLocked runs holding the lock. A tab that waited for it gives the
   * tab that held it a moment to hand its token over (it was posted before
   * the lock was released, but the two arrive as separate tasks).
   */
  async #renewLocked(stale: string | null, waited: boolean): Promise<string | null> {
    if (this.#fresh(stale)) return this.#token;
    if (waited) {
      await this.#handover(stale);
      if (this.#fresh(stale)) return this.#token;
    }
    {
      let res: Response;
      try {
        res = await this.#fetch(absolute(refreshPath), {
          method: 'POST',
          credentials: 'same-origin',
          headers: { Accept: 'application/json' },
        });
      } catch {
        throw new RenewUnavailableError(0);
      }
      if (res.status === 401) return null;
      if (!res.ok) throw new RenewUnavailableError(res.status);
      const body = (await res.json()) as TokenResponse;
      this.#apply(body.access_token, body.user);
      this.#post({ type: 'token', token: body.access_token, user: body.user });
      return body.access_token;
    }
  }

  #fresh(stale: string | null): boolean {
    return this.#token !== null && this.#token !== stale;
  }

  /** Resolves when a token other than stale arrives, or after handoverWaitMs. */
  #handover(stale: string | null): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(done, handoverWaitMs);
      const off = this.subscribe(() => {
        if (this.#fresh(stale)) done();
      });
    });
  }

  /** Ends the session after a failed renewal, in every tab. */
  expire(): void {
    this.#end('expired');
    this.#post({ type: 'ended', reason: 'expired' });
  }

  /**
   * Logs out: the portal ends the session and clears the cookie, and every
   * tab signs out. A portal that cannot be reached still signs this
   * browser out; the session then ends at its expiry.
   */
  async signOut(): Promise<void> {
    const token = this.#token;
    try {
      await this.#fetch(absolute(logoutPath), {
        method: 'POST',
        credentials: 'same-origin',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
    } catch {
      // Signed out here all the same.
    } finally {
      this.#end('logout');
      this.#post({ type: 'ended', reason: 'logout' });
    }
  }

  /** Signs this tab out after "log out everywhere" ended every session. */
  endEverywhere(): void {
    this.#end('logout');
    this.#post({ type: 'ended', reason: 'logout' });
  }

  /**
   * forget drops the token and state without telling the portal or the
   * other tabs: for tests that start each case signed out.
   */
  forget(): void {
    this.#token = null;
    this.#inflight = null;
    this.#setState({ status: 'unknown', user: null });
  }

  close(): void {
    this.#channel?.close();
  }

  #receive(msg: SessionMessage): void {
    switch (msg.type) {
      case 'token':
        this.#apply(msg.token, msg.user);
        break;
      case 'user':
        if (this.#state.status === 'signed-in') this.#setState({ status: 'signed-in', user: msg.user });
        break;
      case 'ended':
        if (this.#state.status !== 'signed-out' || this.#token) this.#end(msg.reason);
        break;
    }
  }

  #apply(token: string, user: User): void {
    this.#token = token;
    this.#setState({ status: 'signed-in', user });
  }

  #end(reason: EndReason): void {
    this.#token = null;
    this.#setState({ status: 'signed-out', user: null, ended: reason });
  }

  #post(msg: SessionMessage): void {
    try {
      this.#channel?.postMessage(msg);
    } catch {
      // A closed channel (page unloading): the other tabs learn on their
      // own next request.
    }
  }

  #setState(s: SessionState): void {
    this.#state = s;
    for (const l of this.#listeners) l();
  }
}
