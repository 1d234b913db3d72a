/** The Voxgate operator console: login, then one page per hash route. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, onTokenChange, setToken } from './api.js';
import { useHashPath } from './router.js';
import { LoginPage } from './pages/login.js';
import { LiveCallsPage } from './pages/live-calls.js';
import { CallHistoryPage } from './pages/call-history.js';
import { CallDetailPage } from './pages/call-detail.js';
import { AlarmsPage } from './pages/alarms.js';
import { ConfigPage } from './pages/config.js';
import { ClientsPage } from './pages/clients.js';
import { WidgetKeysPage } from './pages/widget-keys.js';
import { CampaignPage } from './pages/campaign.js';
import { CampaignsPage } from './pages/campaigns.js';

const NAV = [
  { path: '/live', label: 'Live calls' },
  { path: '/calls', label: 'Call history' },
  { path: '/alarms', label: 'Alarms' },
  { path: '/config', label: 'Bots, routes, providers' },
  { path: '/clients', label: 'API clients' },
  { path: '/widget-keys', label: 'Widget keys' },
  { path: '/campaigns', label: 'Campaigns' },
];

function Page({ path }: { path: string }) {
  const detail = /^\/calls\/([^/]+)$/.exec(path);
  if (detail) return <CallDetailPage id={decodeURIComponent(detail[1])} />;
  if (path.startsWith('/calls')) return <CallHistoryPage />;
  if (path.startsWith('/alarms')) return <AlarmsPage />;
  if (path.startsWith('/config')) return <ConfigPage />;
  if (path.startsWith('/clients')) return <ClientsPage />;
  if (path.startsWith('/widget-keys')) return <WidgetKeysPage />;
  const campaign = /^\/campaign\/([^/]+)$/.exec(path);
  if (campaign) return <CampaignPage key={campaign[1]} id={decodeURIComponent(campaign[1])} />;
  if (path.startsWith('/campaigns')) return <CampaignsPage />;
  if (path.startsWith('/campaign')) return <CampaignPage />;
  return <LiveCallsPage />;
}

function App() {
  const [token, setTokenState] = useState(getToken);
  const path = useHashPath();
  useEffect(() => onTokenChange(() => setTokenState(getToken())), []);
  useEffect(() => {
    const label = path.startsWith('/campaign/') ? 'Campaign' : (NAV.find((n) => path.startsWith(n.path))?.label ?? 'Call');
    document.title = token ? `${label} · Voxgate console` : 'Log in · Voxgate console';
  }, [path, token]);

  if (!token) return <LoginPage />;
  return (
    <>
      <header>
        <strong>Voxgate console</strong>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <a href={`#${n.path}`} aria-current={path === n.path || (n.path === '/calls' && path.startsWith('/calls/')) || (n.path === '/campaigns' && path.startsWith('/campaign')) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={() => setToken(null)}>
          Log out
        </button>
      </header>
      <main>
        <Page path={path} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
