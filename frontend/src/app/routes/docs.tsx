export function DocsRoute() {
  return <div className="p-8">DocsRoute</div>;
}
