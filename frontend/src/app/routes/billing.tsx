export function BillingRoute() {
  return <div className="p-8">BillingRoute</div>;
}
