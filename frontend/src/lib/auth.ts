// The app's one session and API client, and the hooks that read them.
import { useSyncExternalStore } from 'react';
import { createApiClient } from './api-client';
import { Session, type SessionState } from './session';

export const session = new Session();
export const api = createApiClient(session);

export function useSession(): SessionState {
  return useSyncExternalStore(session.subscribe, session.getState, session.getState);
}
