#!/usr/bin/env bash
# Regenerates README.md's configuration table from .env.example (the one
# list of variables, checked against the config structs by pkg/deploy).
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(awk '
	BEGIN { print "| variable | default | read by: what it does |"; print "| --- | --- | --- |" }
	/^# ----/ { next }
	/^# / { c = substr($0, 3); next }
	/^RESAYIL_[A-Z0-9_]+=/ {
		i = index($0, "="); name = substr($0, 1, i - 1); def = substr($0, i + 1)
		if (def == "") def = "*(empty)*"; else def = "`" def "`"
		gsub(/[|]/, "\\\\|", c)
		printf "| `%s` | %s | %s |\n", name, def, c
		c = ""
	}
' .env.example)
awk -v table="$table" '
	/<!-- env-table:start -->/ { print; print table; skip = 1; next }
	/<!-- env-table:end -->/ { skip = 0 }
	!skip { print }
' README.md > README.md.tmp && mv README.md.tmp README.md
