import { afterEach, describe, expect, it } from 'vitest';
import { aToken, aUser } from '@/testing/data';
import { localLocks, Session, type ChannelLike, type LockManagerLike, type SessionMessage } from './session';

const open: Session[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

/** A refresh endpoint that answers after `release()`, counting calls. */
function slowRefresh() {
  let calls = 0;
  const waiting: (() => void)[] = [];
  const fetch = (async () => {
    calls++;
    await new Promise<void>((r) => waiting.push(r));
    return new Response(JSON.stringify(aToken()), { status: 200, headers: { 'Content-Type': 'application/json' } });
  }) as unknown as typeof globalThis.fetch;
  return {
    fetch,
    calls: () => calls,
    release: () => {
      for (const r of waiting.splice(0)) r();
    },
    started: async () => {
      for (let i = 0; i < 50 && waiting.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
    },
  };
}

/** A Web Locks stand-in shared by every "tab" of a test, counting holders. */
function sharedLocks(): LockManagerLike & { held: () => number } {
  const inner = localLocks();
  let held = 0;
  const request = (name: string, a: unknown, b?: unknown) => {
    const cb = (b ?? a) as (lock: unknown) => Promise<unknown>;
    const wrapped = async (lock: unknown) => {
      if (!lock) return cb(lock);
      held++;
      try {
        return await cb(lock);
      } finally {
        held--;
      }
    };
    return b === undefined ? inner.request(name, () => wrapped({})) : inner.request(name, { ifAvailable: true }, wrapped);
  };
  return { request, held: () => held } as unknown as LockManagerLike & { held: () => number };
}

/** A real BroadcastChannel on a name no other test uses. */
function channel(name: string): ChannelLike {
  return new BroadcastChannel(name) as unknown as ChannelLike;
}

function tab(fetch: typeof globalThis.fetch, locks: LockManagerLike, ch: string | null) {
  const s = new Session({ fetch, locks, channel: ch ? channel(ch) : null });
  open.push(s);
  return s;
}

function changed(s: Session, pred: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (pred()) return resolve();
    const off = s.subscribe(() => {
      if (pred()) {
        off();
        resolve();
      }
    });
  });
}

describe('Session.renew', () => {
  it('renews once for every caller of the same tab', async () => {
    const r = slowRefresh();
    const s = tab(r.fetch, localLocks(), null);
    const all = Promise.all([s.renew(null), s.renew(null), s.renew(null)]);
    await r.started();
    r.release();
    const tokens = await all;
    expect(r.calls()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(s.token).toBe(tokens[0]);
    expect(s.getState()).toMatchObject({ status: 'signed-in', user: { email: 'fatima@example.com' } });
  });

  it('one tab renews while another waits, then uses the token it was handed', async () => {
    const r = slowRefresh();
    const locks = sharedLocks();
    const name = `t-${Math.random()}`;
    const a = tab(r.fetch, locks, name);
    const b = tab(r.fetch, locks, name);
    const ra = a.renew('expired-a');
    await r.started();
    // B is refused with its old token while A holds the lock.
    const rb = b.renew('expired-b');
    expect(locks.held()).toBe(1);
    r.release();
    const ta = await ra;
    // B gets A's token over the channel before (or while) it takes the lock.
    await changed(b, () => b.token === ta);
    const tb = await rb;
    expect(tb).toBe(ta);
    expect(r.calls()).toBe(1);
  });

  it('null when the refresh cookie no longer works', async () => {
    const fetch = (async () => new Response('{"error":{"code":"unauthorized","message":"x"}}', { status: 401 })) as unknown as typeof globalThis.fetch;
    const s = tab(fetch, localLocks(), null);
    expect(await s.renew(null)).toBeNull();
    expect(s.token).toBeNull();
  });

  it('throws, and keeps the session, when the portal cannot answer', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof globalThis.fetch;
    const s = tab(fetch, localLocks(), null);
    s.signIn(aToken());
    const before = s.token;
    await expect(s.renew(before)).rejects.toMatchObject({ status: 0 });
    expect(s.token).toBe(before);
    expect(s.getState().status).toBe('signed-in');
  });
});

describe('Session across tabs', () => {
  it('a log out in one tab signs every tab out', async () => {
    const fetch = (async () => new Response(null, { status: 204 })) as unknown as typeof globalThis.fetch;
    const name = `t-${Math.random()}`;
    const a = tab(fetch, localLocks(), name);
    const b = tab(fetch, localLocks(), name);
    a.signIn(aToken());
    await changed(b, () => b.getState().status === 'signed-in');
    await a.signOut();
    await changed(b, () => b.getState().status === 'signed-out');
    expect(b.token).toBeNull();
    expect(b.getState().ended).toBe('logout');
  });

  it('an expired session is expired everywhere', async () => {
    const fetch = (async () => new Response(null, { status: 204 })) as unknown as typeof globalThis.fetch;
    const name = `t-${Math.random()}`;
    const a = tab(fetch, localLocks(), name);
    const b = tab(fetch, localLocks(), name);
    a.signIn(aToken());
    await changed(b, () => b.getState().status === 'signed-in');
    a.expire();
    await changed(b, () => b.getState().status === 'signed-out');
    expect(b.getState().ended).toBe('expired');
  });

  it('a profile change reaches the other tabs', async () => {
    const fetch = (async () => new Response(null, { status: 204 })) as unknown as typeof globalThis.fetch;
    const name = `t-${Math.random()}`;
    const a = tab(fetch, localLocks(), name);
    const b = tab(fetch, localLocks(), name);
    a.signIn(aToken());
    await changed(b, () => b.getState().status === 'signed-in');
    a.setUser(aUser({ locale: 'ar' }));
    await changed(b, () => b.getState().user?.locale === 'ar');
  });

  it('sends what other tabs need and nothing to storage', async () => {
    const sent: SessionMessage[] = [];
    const spy: ChannelLike = { postMessage: (m) => sent.push(m), addEventListener: () => {}, close: () => {} };
    const s = new Session({ fetch: (async () => new Response(null, { status: 204 })) as unknown as typeof globalThis.fetch, locks: localLocks(), channel: spy });
    const t = aToken();
    s.signIn(t);
    expect(sent).toEqual([{ type: 'token', token: t.access_token, user: t.user }]);
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(0);
    expect(document.cookie).not.toContain(t.access_token);
  });
});
