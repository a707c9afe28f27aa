// Small shared pieces: status badges, JSON blocks, the not-found and error pages, the confirmation dialog.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api';
import { Link } from '../router';

export function Badge({ status, children }: { status: string; children?: ReactNode }) {
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {children ?? status}
    </span>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function NotFound({ what, hint }: { what: string; hint?: string }) {
  return (
    <div className="not-found" data-testid="not-found">
      <h1>Not found</h1>
      <p>{what} was not found.</p>
      <p className="muted">
        {hint ??
          'It may never have existed, have been removed after its retention period, or belong to another organization.'}
      </p>
      <p>
        <Link to="/executions">Search executions</Link> · <Link to="/workflows">Workflows</Link> ·{' '}
        <Link to="/dashboard">Dashboard</Link>
      </p>
    </div>
  );
}

/** A failed load: a 404 is a not-found page, anything else says what went wrong. */
export function LoadError({ error, what }: { error: Error; what: string }) {
  if (error instanceof ApiError && error.status === 404) return <NotFound what={what} />;
  if (error instanceof ApiError && error.status === 403)
    return (
      <div className="notice" data-testid="forbidden">
        {error.message}. Sign in with an organization API key to see {what}.
      </div>
    );
  return (
    <div className="notice error" data-testid="load-error">
      Could not load {what}: {error.message}
    </div>
  );
}

export function Loading() {
  return <div className="muted">Loading…</div>;
}

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  run: () => Promise<void>;
}

/** Every action asks first; the dialog shows the outcome of the call or its error. */
export function ConfirmDialog({
  request,
  onClose,
}: {
  request: ConfirmRequest | undefined;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    setError(undefined);
    setBusy(false);
    button.current?.focus();
  }, [request]);
  if (!request) return null;
  const confirm = async () => {
    setBusy(true);
    try {
      await request.run();
      onClose();
    } catch (caught) {
      setError((caught as Error).message);
      setBusy(false);
    }
  };
  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        data-testid="confirm-dialog"
        onClick={(event) => event.stopPropagation()}
      >
        <h2 id="confirm-title">{request.title}</h2>
        <div>{request.body}</div>
        {error && <div className="notice error">{error}</div>}
        <div className="modal-actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button
            type="button"
            ref={button}
            className={request.danger ? 'danger' : 'primary'}
            onClick={() => void confirm()}
            disabled={busy}
            data-testid="confirm-button"
          >
            {busy ? 'Working…' : request.confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}

export const formatTime = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
