package chat

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// One reading of a request: the upstream (Ollama, and most OpenAI-compatible
// servers, are Go programs) decodes the body with encoding/json, which
// matches a key to a struct field case-insensitively, after unescaping, with
// Unicode simple folding ("ſtream", with U+017F, is "stream" to it). The
// gateway matches exactly. A key that Go would take for a field the gateway
// reads, but spelled differently, would let the upstream act on a value the
// gateway never checked or billed for ("Stream":true, a second "Messages"),
// so Parse refuses it. Keys that fold to nothing the gateway reads pass
// through untouched, as OpenAI's own extensions and vendor fields must.
//
// This is Go's rule for JSON keys. It is not the portal's e-mail rule (ASCII
// only): the two must not share code.

// jsonType is a set of JSON value types.
type jsonType uint8

const (
	tString jsonType = 1 << iota
	tNumber
	tBool
	tObject
	tArray
)

// field is a top-level request member the gateway reads: its accepted
// types (null is always accepted: every field but model and messages is
// optional), and for numbers a range.
type field struct {
	types    jsonType
	integer  bool
	min, max float64
	ranged   bool
	// counted: the upstream may turn it into prompt tokens, so the hold's
	// estimate counts its bytes.
	counted bool
	// bit is the field's own bit, to find a repeated field in one pass.
	bit uint64
}

// fields are the members the gateway reads, each checked where OpenAI's
// type is fixed and stable; members whose value lists OpenAI keeps
// extending (reasoning_effort, tool_choice, service_tier, modalities…) are
// checked for their JSON type only. model, messages, stream, stream_options,
// the token limits, n and stop have checks of their own in Parse.
var fields = map[string]field{
	"model":                 {},
	"messages":              {},
	"stream":                {},
	"stream_options":        {},
	"max_tokens":            {},
	"max_completion_tokens": {},
	"n":                     {},
	"stop":                  {},
	"tools":                 {types: tArray, counted: true},
	"functions":             {types: tArray, counted: true},
	"response_format":       {types: tObject, counted: true},
	"temperature":           {types: tNumber, ranged: true, min: 0, max: 2},
	"top_p":                 {types: tNumber, ranged: true, min: 0, max: 1},
	"frequency_penalty":     {types: tNumber, ranged: true, min: -2, max: 2},
	"presence_penalty":      {types: tNumber, ranged: true, min: -2, max: 2},
	"top_logprobs":          {types: tNumber, integer: true, ranged: true, min: 0, max: 20},
	"seed":                  {types: tNumber, integer: true},
	"logprobs":              {types: tBool},
	"parallel_tool_calls":   {types: tBool},
	"store":                 {types: tBool},
	"user":                  {types: tString},
	"reasoning_effort":      {types: tString},
	"service_tier":          {types: tString},
	"verbosity":             {types: tString},
	"prompt_cache_key":      {types: tString},
	"safety_identifier":     {types: tString},
	"tool_choice":           {types: tString | tObject},
	"function_call":         {types: tString | tObject},
	"modalities":            {types: tArray},
	"logit_bias":            {types: tObject},
	"metadata":              {types: tObject},
	"prediction":            {types: tObject},
	"audio":                 {types: tObject},
	"web_search_options":    {types: tObject},
	// Ollama's own: {"effort": …}, read as reasoning_effort.
	"reasoning": {types: tObject},
}

// folded maps the Go-folded form of each name in fields to the name.
var folded = func() map[string]string {
	if len(fields) > 64 {
		panic("chat: more fields than bits in a uint64")
	}
	m := make(map[string]string, len(fields))
	i := 0
	for name, f := range fields {
		f.bit = 1 << i
		fields[name] = f
		i++
		m[string(foldName([]byte(name)))] = name
	}
	return m
}()

// variantOf returns the field that Go's decoder would match name to when
// name is not spelled exactly like it, or "" when there is none.
func variantOf(name []byte) string {
	// An ASCII name without upper-case letters folds to a known field only
	// if it is that field: known names are ASCII lower case. This is every
	// key an SDK sends, and it needs no allocation.
	plain := true
	for _, c := range name {
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return ""
	}
	return folded[string(foldName(name))]
}

// foldName is encoding/json's key folding (foldName in its fold.go): ASCII
// letters upper-cased, every other rune mapped to the smallest rune of its
// simple-folding orbit, so that foldName(x) == foldName(y) exactly when
// bytes.EqualFold(x, y).
func foldName(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// typeOf returns the JSON type of a valid raw value; 0 for null.
func typeOf(raw []byte) jsonType {
	switch raw[0] {
	case '"':
		return tString
	case '{':
		return tObject
	case '[':
		return tArray
	case 't', 'f':
		return tBool
	case 'n':
		return 0
	}
	return tNumber
}

var typeNames = []struct {
	t    jsonType
	name string
}{{tString, "a string"}, {tNumber, "a number"}, {tBool, "a boolean"}, {tObject, "an object"}, {tArray, "an array"}}

// check validates the value of a field that has no check of its own in
// Parse. The name is made a string only for an error: this runs for
// every sampling field of every request.
func (f field) check(rawName, raw []byte) *Error {
	t := typeOf(raw)
	if t == 0 {
		return nil
	}
	if f.types&t == 0 {
		want := ""
		for _, tn := range typeNames {
			if f.types&tn.t != 0 {
				if want != "" {
					want += " or "
				}
				want += tn.name
			}
		}
		name := string(rawName)
		return invalid(name, "'%s' must be %s.", name, want)
	}
	if t != tNumber {
		return nil
	}
	what := "a number"
	if f.integer {
		what = "an integer"
	}
	var v float64
	if f.integer {
		i, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			name := string(rawName)
			return invalid(name, "'%s' must be %s.", name, what)
		}
		v = float64(i)
	} else {
		var err error
		if v, err = strconv.ParseFloat(string(raw), 64); err != nil {
			name := string(rawName)
			return invalid(name, "'%s' must be %s.", name, what)
		}
	}
	if f.ranged && (v < f.min || v > f.max) {
		name := string(rawName)
		return invalid(name, "'%s' must be %s from %s to %s.", name, what, num(f.min), num(f.max))
	}
	return nil
}

func num(v float64) string { return fmt.Sprint(v) }
