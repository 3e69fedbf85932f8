export function SettingsRoute() {
  return <div className="p-8">SettingsRoute</div>;
}
