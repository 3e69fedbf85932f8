export function LegalRoute({ doc }: { doc: import("./legal-docs").LegalDoc }) {
  return <div className="p-8">{doc}</div>;
}
