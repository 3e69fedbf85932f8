package account

import "unicode"

// msgControlChars is the answer for text with a forbidden character.
const msgControlChars = "Must not contain control characters or invisible direction marks."

// TextProblem returns why s cannot be stored as text a person will read
// (a name, an e-mail, a phone, a key name), or "" when it can.
//
// Refused: control characters (category Cc: C0, DEL, C1, \u0000 among them)
// and every Bidi_Control character: the embeddings and overrides U+202A to
// U+202E, the isolates U+2066 to U+2069, and the marks U+200E, U+200F and
// U+061C. Overrides and isolates reorder how text is shown, so a name can
// display as something it is not (and spill into whatever is printed next
// to it); the marks are invisible and make two different strings look the
// same, and no name needs them. Joiners stay allowed: ZWNJ (U+200C) and ZWJ
// (U+200D) change how Arabic and Persian letters connect and are a real part
// of names.
func TextProblem(s string) string {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return msgControlChars
		}
	}
	return ""
}
