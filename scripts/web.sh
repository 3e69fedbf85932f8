#!/usr/bin/env bash
# The web app (frontend/): `web.sh build` builds it into frontend/dist when
# its sources changed since the last build (make run); `web.sh test` runs
# its checks and unit tests (make test-web); `web.sh deps` installs its
# npm packages when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

say() { printf 'web: %s\n' "$*"; }

need_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		say "Node.js and npm are needed for the web app (Node 20.19 or newer); see README.md, Requirements"
		return 1
	fi
	if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
		say "Node.js $(node --version) is too old for the web app: it needs 20.19 or newer"
		return 1
	fi
}

# deps runs `npm ci` when node_modules is missing or was installed from
# another package-lock.json.
deps() {
	need_node
	local want have=""
	want=$(sha256sum package-lock.json | cut -d' ' -f1)
	[ -f node_modules/.resayil-lock ] && have=$(cat node_modules/.resayil-lock)
	if [ "$want" != "$have" ]; then
		say "installing npm packages (npm ci)"
		npm ci --no-audit --no-fund --loglevel=error
		echo "$want" > node_modules/.resayil-lock
	fi
}

# sources_hash is one hash of everything the build reads.
sources_hash() {
	find src public index.html package.json package-lock.json vite.config.ts tsconfig.json -type f \
		! -name '*.test.ts' ! -name '*.test.tsx' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

build() {
	local want have=""
	want=$(sources_hash)
	[ -f dist/.source-hash ] && have=$(cat dist/.source-hash)
	if [ "$want" = "$have" ] && [ -f dist/index.html ]; then
		say "web app up to date (frontend/dist)"
		return 0
	fi
	if ! need_node; then
		if [ -f dist/index.html ]; then
			say "serving the web app built earlier, which may be out of date"
			return 0
		fi
		say "the web app is not built: the portal serves only the API"
		return 0
	fi
	deps
	say "building the web app (frontend/dist)"
	npx --no-install vite build --logLevel warn
	node scripts/compress.mjs
	echo "$want" > dist/.source-hash
}

# e2e runs the browser journey (frontend/e2e) against the real stack:
# the Go binaries built into a temporary folder, the web app built when
# its sources changed, Debian's chromium (scripts/browser.sh).
e2e() {
	deps
	build
	local bin
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' RETURN
	say "building the Go binaries for the browser tests"
	(cd .. && PATH=$PATH:/usr/local/go/bin &&
		go build -o "$bin/portal-api" ./portal-api/cmd/portal-api &&
		go build -o "$bin/gateway" ./gateway/cmd/gateway &&
		go build -o "$bin/fakeollama" ./pkg/cmd/fakeollama &&
		go build -o "$bin/fakemyfatoorah" ./pkg/cmd/fakemyfatoorah)
	rm -rf e2e-artifacts
	E2E_BIN=$bin npm run --silent e2e
	say "screenshots in frontend/e2e-artifacts/screenshots"
}

case "${1:-}" in
deps) deps ;;
build) build ;;
e2e) e2e ;;
test)
	deps
	npm run --silent check:gen
	npm run --silent typecheck
	npm run --silent test
	npm run --silent build
	echo "$(sources_hash)" > dist/.source-hash
	npm run --silent budget
	;;
*)
	echo "usage: $0 deps|build|test|e2e" >&2
	exit 2
	;;
esac
