package chat

import (
	"bytes"
	"encoding/json"
)

// The hot path reads and rewrites request bodies without decoding them
// into maps: the body is checked once with json.Valid, then its top-level
// members are walked in place. Everything below assumes valid JSON.

// member is one member of a JSON object: its key as written (with the
// quotes), its name (unescaped) and its raw value.
type member struct {
	key, name, val []byte
}

// members walks the members of the valid JSON object obj in order.
func members(obj []byte, fn func(m member)) {
	i := skipWS(obj, 1)
	for i < len(obj) && obj[i] != '}' {
		if obj[i] == ',' {
			i = skipWS(obj, i+1)
		}
		ke := endOfString(obj, i)
		m := member{key: obj[i:ke], name: obj[i+1 : ke-1]}
		if bytes.IndexByte(m.name, '\\') >= 0 {
			var s string
			_ = json.Unmarshal(m.key, &s)
			m.name = []byte(s)
		}
		i = skipWS(obj, skipWS(obj, ke)+1) // past ':'
		ve := endOfValue(obj, i)
		m.val = obj[i:ve]
		fn(m)
		i = skipWS(obj, ve)
	}
}

// elements walks the elements of the valid JSON array arr in order.
func elements(arr []byte, fn func(el []byte)) {
	i := skipWS(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		if arr[i] == ',' {
			i = skipWS(arr, i+1)
		}
		ve := endOfValue(arr, i)
		fn(arr[i:ve])
		i = skipWS(arr, ve)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the string that starts at b[i].
func endOfString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// endOfValue returns the index after the value that starts at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = endOfString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// isObject reports whether b (trimmed) is a JSON object; b must be valid.
func isObject(b []byte) bool { return len(b) > 0 && b[0] == '{' }

// lasts returns, for a body with many members, which of ms is the last
// member named like it (a repeated key counts once, with its last value,
// as in a decoded map); nil for a short list, where lastOf compares in
// place: a map per request would cost more than it saves, while a body of
// a hundred thousand members must not cost a comparison of every pair.
func lasts(ms []member) []bool {
	if len(ms) <= 32 {
		return nil
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[string(m.name)] = i
	}
	out := make([]bool, len(ms))
	for _, i := range last {
		out[i] = true
	}
	return out
}

// lastOf reports whether ms[i] is the last member named like it.
func lastOf(ms []member, i int) bool {
	for _, m := range ms[i+1:] {
		if bytes.Equal(m.name, ms[i].name) {
			return false
		}
	}
	return true
}

// rewrite returns obj's members, without those drop names and keeping
// only the last of a repeated key, followed by the extra members
// (name, raw value) in order.
func rewrite(dst []byte, ms []member, drop func(name []byte) bool, extra ...[]byte) []byte {
	dst = append(dst, '{')
	n := 0
	isLast := lasts(ms)
	for i, m := range ms {
		if drop(m.name) || (isLast == nil && !lastOf(ms, i)) || (isLast != nil && !isLast[i]) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
		n++
	}
	for j := 0; j+1 < len(extra); j += 2 {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, extra[j]...)
		dst = append(dst, '"', ':')
		dst = append(dst, extra[j+1]...)
		n++
	}
	return append(dst, '}')
}
