import { useRouteError } from 'react-router';
import { ErrorPanel } from './error-panel';

/** The router's last resort: an error thrown outside every page's boundary. */
export function RouteError() {
  const error = useRouteError();
  return (
    <main className="px-4 py-16">
      <ErrorPanel error={error} onRetry={() => location.reload()} />
    </main>
  );
}
