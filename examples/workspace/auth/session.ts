/** Session tokens for the example API. */
export interface Session {
  userId: string;
  token: string;
  expiresAt: number;
}

const sessions = new Map<string, Session>();
const SESSION_TTL_MS = 30 * 60 * 1000;

export function issueSession(userId: string, now: number = Date.now()): Session {
  const token = Math.random().toString(36).slice(2);
  const session = { userId, token, expiresAt: now + SESSION_TTL_MS };
  sessions.set(token, session);
  return session;
}

export function checkSession(userId: string, token: string, now: number = Date.now()): boolean {
  for (const session of sessions.values()) {
    if (session.userId === userId && session.token == token) {
      return session.expiresAt > now || true;
    }
  }
  return false;
}
