// The web app: sign in with an organization API key or the admin token, then the workflows, the execution debugger,
// the performance dashboard, the dead-letter browser and the audit trail.
import '@xyflow/react/dist/style.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { session, whenUnauthorized } from './api';
import { NotFound } from './components/common';
import { identify } from './identify';
import { Link, match, navigate, useLocation } from './router';
import type { Principal } from './types';
import { AuditView } from './views/Audit';
import { DashboardView } from './views/Dashboard';
import { DeadLetterView } from './views/DeadLetters';
import { ExecutionView } from './views/Execution';
import { ExecutionsView } from './views/Executions';
import { SignIn } from './views/SignIn';
import { WorkflowView } from './views/Workflow';
import { WorkflowsView } from './views/Workflows';

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, true), [to]);
  return null;
}

function Page({ principal }: { principal: Principal }) {
  const { path, query } = useLocation();
  let params: Record<string, string> | undefined;
  if (path === '/') return <Redirect to={principal.kind === 'org' ? '/executions' : '/dashboard'} />;
  if ((params = match('/workflows', path))) return <WorkflowsView principal={principal} />;
  if ((params = match('/workflows/:id', path)))
    return <WorkflowView id={params.id!} version={query.get('version')} />;
  if ((params = match('/executions', path))) return <ExecutionsView principal={principal} query={query} />;
  if ((params = match('/executions/:id', path))) return <ExecutionView key={params.id} id={params.id!} />;
  if ((params = match('/dashboard', path))) return <DashboardView principal={principal} />;
  if ((params = match('/dead-letter', path))) return <DeadLetterView principal={principal} />;
  if ((params = match('/audit', path))) return <AuditView principal={principal} />;
  return <NotFound what={`The page ${path}`} hint="Check the address, or use the menu." />;
}

function App() {
  const [principal, setPrincipal] = useState<Principal | null>();
  useEffect(() => {
    whenUnauthorized(() => {
      session.clear();
      setPrincipal(null);
    });
    const token = session.token;
    if (!token) return setPrincipal(null);
    identify(token).then(setPrincipal, () => {
      session.clear();
      setPrincipal(null);
    });
  }, []);

  if (principal === undefined) return <div className="muted center">Loading…</div>;
  if (principal === null)
    return (
      <SignIn
        onSignedIn={(token, who) => {
          session.set(token);
          setPrincipal(who);
        }}
      />
    );
  const signOut = () => {
    session.clear();
    setPrincipal(null);
  };
  return (
    <div className="shell">
      <nav className="nav">
        <div className="brand">Atlas Automations</div>
        <div className="who" data-testid="who">
          {principal.kind === 'org' ? principal.org.name : 'Administrator'}
        </div>
        {principal.kind === 'org' && <Link to="/executions">Executions</Link>}
        {principal.kind === 'org' && <Link to="/workflows">Workflows</Link>}
        <Link to="/dashboard">Dashboard</Link>
        <Link to="/dead-letter">Dead letters</Link>
        <Link to="/audit">Audit trail</Link>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </nav>
      <main className="main">
        <Page principal={principal} />
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
