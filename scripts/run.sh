#!/usr/bin/env bash
# `make run`: the whole product on one machine with no configuration.
# Builds the binaries, migrates and seeds a SQLite database in ./data,
# starts development fakes for off-machine services that do not answer,
# then portal-api and gateway; Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

export RESAYIL_DATA_DIR=${RESAYIL_DATA_DIR:-./data}
# Both servers append failed authentications here, the file fail2ban
# reads in production (deploy/fail2ban); set it empty for none.
export RESAYIL_AUTH_FAILURE_LOG=${RESAYIL_AUTH_FAILURE_LOG-$RESAYIL_DATA_DIR/auth-failures.log}
export RESAYIL_OLLAMA_URL=${RESAYIL_OLLAMA_URL:-http://127.0.0.1:11434}
# Loopback unless the user chose otherwise: a development run with fakes
# and a generated admin password is not for the network. (Production
# keeps its configured addresses, :8080 and :8081 by default.)
export RESAYIL_GATEWAY_ADDR=${RESAYIL_GATEWAY_ADDR:-127.0.0.1:8080}
export RESAYIL_PORTAL_ADDR=${RESAYIL_PORTAL_ADDR:-127.0.0.1:8081}
GATEWAY_ADDR=$RESAYIL_GATEWAY_ADDR
PORTAL_ADDR=$RESAYIL_PORTAL_ADDR
BIN=./bin
mkdir -p "$BIN" "$RESAYIL_DATA_DIR"

# Bold only on a terminal: piped into a log or grep, the lines stay plain.
if [ -t 1 ]; then
	say() { printf '\033[1mrun:\033[0m %s\n' "$*"; }
else
	say() { printf 'run: %s\n' "$*"; }
fi

say "building"
# The web app, when its sources changed (Node and npm needed; without
# them the portal serves the API only, and says so).
bash scripts/web.sh build
go build -o "$BIN/portal-api" ./portal-api/cmd/portal-api
go build -o "$BIN/gateway" ./gateway/cmd/gateway
go build -o "$BIN/fakeollama" ./pkg/cmd/fakeollama
if [ -z "${RESAYIL_MYFATOORAH_TOKEN:-}" ]; then
	go build -o "$BIN/fakemyfatoorah" ./pkg/cmd/fakemyfatoorah
fi
# No WhatsApp token (and notifications not turned off): the development fake.
FAKE_WHATSAPP=
if [ -z "${RESAYIL_WHATSAPP_TOKEN:-}" ] && [ "${RESAYIL_NOTIFICATIONS:-on}" = on ]; then
	FAKE_WHATSAPP=1
	go build -o "$BIN/fakewhatsapp" ./pkg/cmd/fakewhatsapp
fi

say "migrating and seeding $RESAYIL_DATA_DIR"
"$BIN/portal-api" migrate up
"$BIN/portal-api" seed

pids=()
cleanup() {
	trap - INT TERM EXIT
	if [ ${#pids[@]} -gt 0 ]; then
		say "stopping"
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	say "stopped"
}
trap cleanup INT TERM EXIT

if curl -fsS -m 2 "$RESAYIL_OLLAMA_URL/api/version" >/dev/null 2>&1; then
	say "using Ollama at $RESAYIL_OLLAMA_URL"
else
	addr=${RESAYIL_OLLAMA_URL#http://}
	# The fake has every local model of the catalog, so all of them answer.
	models=$("$BIN/gateway" local-models)
	say "no Ollama answers at $RESAYIL_OLLAMA_URL: starting the development FAKE Ollama there (replies are synthetic; models $models)"
	"$BIN/fakeollama" -addr "$addr" -models "$models" &
	pids+=($!)
fi

if [ -n "${RESAYIL_MYFATOORAH_TOKEN:-}" ]; then
	say "using MyFatoorah at ${RESAYIL_MYFATOORAH_BASE_URL:-https://api.myfatoorah.com}"
else
	# No token: payments go to the development FAKE MyFatoorah (a pay page
	# with Pay / Cancel buttons, signed webhooks back to this portal). The
	# fake accepts localhost callback URLs, which the real service refuses.
	MF_ADDR=${FAKE_MYFATOORAH_ADDR:-127.0.0.1:8089}
	export RESAYIL_MYFATOORAH_BASE_URL="http://$MF_ADDR"
	export RESAYIL_MYFATOORAH_TOKEN=dev-token
	export RESAYIL_MYFATOORAH_WEBHOOK_SECRET=${RESAYIL_MYFATOORAH_WEBHOOK_SECRET:-dev-webhook-secret}
	# The one warning (the fake's own is left out with -quiet).
	say "RESAYIL_MYFATOORAH_TOKEN is empty: starting the development FAKE MyFatoorah at $RESAYIL_MYFATOORAH_BASE_URL: NO REAL PAYMENTS, checkout links open its pay page (Pay / Cancel); set RESAYIL_MYFATOORAH_TOKEN for the real service"
	"$BIN/fakemyfatoorah" -quiet -addr "$MF_ADDR" -token "$RESAYIL_MYFATOORAH_TOKEN" \
		-webhook-url "http://127.0.0.1:${PORTAL_ADDR##*:}/api/v1/webhooks/myfatoorah" \
		-webhook-secret "$RESAYIL_MYFATOORAH_WEBHOOK_SECRET" &
	pids+=($!)
fi

if [ -n "$FAKE_WHATSAPP" ]; then
	# Notifications go to the development FAKE Graph API, which prints
	# each message it accepts (template, language, recipient, parameters)
	# in this terminal instead of sending it, and posts signed sent and
	# delivered status webhooks back to the portal.
	WA_ADDR=${FAKE_WHATSAPP_ADDR:-127.0.0.1:8091}
	export RESAYIL_WHATSAPP_API_URL="http://$WA_ADDR"
	export RESAYIL_WHATSAPP_TOKEN=dev-whatsapp-token
	export RESAYIL_WHATSAPP_PHONE_NUMBER_ID=${RESAYIL_WHATSAPP_PHONE_NUMBER_ID:-100000000000001}
	export RESAYIL_WHATSAPP_APP_SECRET=${RESAYIL_WHATSAPP_APP_SECRET:-dev-whatsapp-app-secret}
	export RESAYIL_WHATSAPP_VERIFY_TOKEN=${RESAYIL_WHATSAPP_VERIFY_TOKEN:-dev-whatsapp-verify-token}
	say "RESAYIL_WHATSAPP_TOKEN is empty: starting the development FAKE WhatsApp at $RESAYIL_WHATSAPP_API_URL: NO REAL MESSAGES, each notification is printed here instead; set RESAYIL_WHATSAPP_TOKEN (or RESAYIL_NOTIFICATIONS=off)"
	"$BIN/fakewhatsapp" -quiet -addr "$WA_ADDR" -token "$RESAYIL_WHATSAPP_TOKEN" \
		-phone-number-id "$RESAYIL_WHATSAPP_PHONE_NUMBER_ID" -app-secret "$RESAYIL_WHATSAPP_APP_SECRET" \
		-webhook-url "http://127.0.0.1:${PORTAL_ADDR##*:}/api/v1/webhooks/whatsapp" &
	pids+=($!)
elif [ "${RESAYIL_NOTIFICATIONS:-on}" = on ]; then
	say "using WhatsApp at ${RESAYIL_WHATSAPP_API_URL:-https://graph.facebook.com}"
fi

"$BIN/portal-api" serve &
pids+=($!)
"$BIN/gateway" serve &
pids+=($!)

port() { echo "${1##*:}"; }
for _ in $(seq 1 100); do
	if curl -fsS -m 1 "http://127.0.0.1:$(port "$PORTAL_ADDR")/readyz" >/dev/null 2>&1 &&
		curl -fsS -m 1 "http://127.0.0.1:$(port "$GATEWAY_ADDR")/readyz" >/dev/null 2>&1; then
		break
	fi
	sleep 0.2
done

if [ -f "${RESAYIL_STATIC_DIR:-frontend/dist}/index.html" ]; then
	say "web app:     http://localhost:$(port "$PORTAL_ADDR")/  <- open this in a browser"
fi
say "portal API:  http://localhost:$(port "$PORTAL_ADDR")/api/v1  (health: /healthz, /readyz)"
say "gateway:     http://localhost:$(port "$GATEWAY_ADDR")/v1     (OpenAI-compatible base URL)"
if [ -n "${MF_ADDR:-}" ]; then
	say "payments:    $RESAYIL_MYFATOORAH_BASE_URL (the development fake above)"
fi
if [ -n "$FAKE_WHATSAPP" ]; then
	say "whatsapp:    $RESAYIL_WHATSAPP_API_URL (the development fake above)"
fi
if [ -f "$RESAYIL_DATA_DIR/admin-password" ]; then
	say "admin login: ${RESAYIL_ADMIN_EMAIL:-admin@resayil.local} / $(cat "$RESAYIL_DATA_DIR/admin-password")"
else
	say "admin login: ${RESAYIL_ADMIN_EMAIL:-admin@resayil.local} / the RESAYIL_ADMIN_PASSWORD you set"
fi
say "press Ctrl-C to stop"
wait -n "${pids[@]}" || true
