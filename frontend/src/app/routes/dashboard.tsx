export function DashboardRoute() {
  return <div className="p-8">DashboardRoute</div>;
}
