/** cn joins class names, skipping the falsy ones. */
export function cn(...parts: (string | false | 0 | null | undefined)[]): string {
  return parts.filter(Boolean).join(' ');
}
