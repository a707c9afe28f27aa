// Sign-in: the user pastes an organization API key or the admin token; it stays in this tab's session storage.
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { identify } from '../identify';
import type { Principal } from '../types';

export function SignIn({ onSignedIn }: { onSignedIn: (token: string, principal: Principal) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(token.trim(), await identify(token.trim()));
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401
          ? 'That key was not accepted. Paste an organization API key (atl_…) or the admin token.'
          : `Could not sign in: ${(caught as Error).message}`,
      );
      setBusy(false);
    }
  };
  return (
    <form className="sign-in" onSubmit={(event) => void submit(event)}>
      <h1>Atlas Automations</h1>
      <p className="muted">Sign in with an organization API key or the admin token.</p>
      <label>
        Key
        <input
          type="password"
          name="token"
          autoComplete="off"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          placeholder="atl_…"
          required
        />
      </label>
      {error && (
        <div className="notice error" role="alert" data-testid="sign-in-error">
          {error}
        </div>
      )}
      <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
