export function BillingResultRoute() {
  return <div className="p-8">BillingResultRoute</div>;
}
