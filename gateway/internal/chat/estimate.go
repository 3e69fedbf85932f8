package chat

import (
	"bytes"
	"unicode/utf8"
)

// The hold's prompt estimate counts everything the upstream may turn into
// prompt tokens: every message with every field inside it (role, content,
// name, tool calls, tool call ids…), the tools, the legacy functions and the
// response format. It counts the UTF-8 bytes of what the JSON says — each
// key and string as decoded, each number or literal as written — so an
// escape cannot make text look shorter than the upstream will read it.
// An image or audio part counts MediaPartBytes instead of its base64
// payload, so that vision requests do not get false 402s; a tokenizer
// that beats the estimate is paid by the settlement's shortfall path.

// MediaPartBytes is what one image or audio content part adds to the
// prompt bytes: 2,048 tokens at the estimate's 2 bytes a token, above what
// the vision models in the catalog spend on one image.
const MediaPartBytes = 4096

// mediaKeys name the payload member of each media part type: the part type
// and the key of its payload are the same word.
var mediaKeys = [][]byte{[]byte("image_url"), []byte("input_audio")}

// message is what one walk of a message object finds: its prompt size,
// and its role and content as the upstream reads them (the last member
// named like each, whatever its case).
type message struct {
	bytes         int
	role, content []byte
	// partsOK: every element of an array content is an object.
	partsOK bool
}

// measureMessage walks a valid message object once. The walk is bounded in
// depth (message, content, part), and every value below that is counted in
// one linear pass, so a deeply nested body costs no more than a flat one.
func measureMessage(el []byte) message {
	var m message
	members(el, func(f member) {
		m.bytes += len(f.name)
		switch {
		case bytes.EqualFold(f.name, []byte("role")):
			m.role = f.val
		case bytes.EqualFold(f.name, []byte("content")):
			m.content, m.partsOK = f.val, true
			if f.val[0] == '[' {
				elements(f.val, func(p []byte) {
					m.partsOK = m.partsOK && p[0] == '{'
					m.bytes += partBytes(p)
				})
				return
			}
		}
		m.bytes += textBytes(f.val)
	})
	return m
}

// partBytes is the prompt size of one content part: an image or audio
// part counts the allowance and its members but the payload; any other part
// counts in full. The part's type is read as the upstream reads it: the
// last member named like "type", whatever its case.
func partBytes(p []byte) int {
	if p[0] != '{' {
		return textBytes(p)
	}
	var typ []byte
	members(p, func(m member) {
		if bytes.EqualFold(m.name, []byte("type")) {
			typ = m.val
		}
	})
	var s string
	if !decodeString(typ, &s) {
		return textBytes(p)
	}
	var payload []byte
	for _, k := range mediaKeys {
		if s == string(k) {
			payload = k
		}
	}
	if payload == nil {
		return textBytes(p)
	}
	n := MediaPartBytes
	members(p, func(m member) {
		if !bytes.EqualFold(m.name, payload) {
			n += len(m.name) + textBytes(m.val)
		}
	})
	return n
}

// textBytes counts a valid JSON value in one pass: the decoded UTF-8
// length of every string (keys included), the written length of every
// number and literal; punctuation and white space count nothing.
func textBytes(v []byte) int {
	n := 0
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case '"':
			l, end := stringBytes(v, i)
			n += l
			i = end
		case '{', '}', '[', ']', ',', ':', ' ', '\t', '\n', '\r':
			i++
		default:
			n++
			i++
		}
	}
	return n
}

// stringBytes returns the decoded UTF-8 length of the valid JSON string
// that starts at v[i], and the index after it. An escaped surrogate pair is
// one 4-byte rune; a lone surrogate decodes to U+FFFD (3 bytes), as
// encoding/json does.
func stringBytes(v []byte, i int) (int, int) {
	n := 0
	for j := i + 1; j < len(v); {
		switch c := v[j]; {
		case c == '"':
			return n, j + 1
		case c != '\\':
			// Raw bytes, valid UTF-8 or not: invalid bytes decode to U+FFFD.
			if c < utf8.RuneSelf {
				n++
				j++
				continue
			}
			r, size := utf8.DecodeRune(v[j:])
			n += utf8.RuneLen(r)
			j += size
		case j+1 < len(v) && v[j+1] == 'u':
			r := hex4(v[j+2:])
			j += 6
			if r >= 0xD800 && r < 0xDC00 && j+5 < len(v) && v[j] == '\\' && v[j+1] == 'u' {
				if lo := hex4(v[j+2:]); lo >= 0xDC00 && lo < 0xE000 {
					n += 4
					j += 6
					continue
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			n += utf8.RuneLen(r)
		default:
			n++
			j += 2
		}
	}
	return n, len(v)
}

// hex4 reads four hex digits (valid JSON guarantees them).
func hex4(b []byte) rune {
	if len(b) < 4 {
		return utf8.RuneError
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
