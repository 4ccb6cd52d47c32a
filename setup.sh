#!/usr/bin/env bash
# setup.sh - the two commands of the README.
#   ./setup.sh run    install what is missing, build, start rmapd on 127.0.0.1:8080
#   ./setup.sh test   install what is missing, build (plain, ASan+UBSan, TSan and
#                     the clang fuzz build), run every test
# Idempotent: apt-get and npm run only when something is missing.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(build-essential meson ninja-build pkg-config libmicrohttpd-dev
	libcjson-dev libsqlite3-dev libsodium-dev libsystemd-dev sqlite3 python3 curl systemd chromium
	nodejs npm clang libclang-rt-dev nginx-light postgresql libpq-dev)

log() { printf 'setup: %s\n' "$*" >&2; }

install_packages() {
	local missing=()
	for p in "${APT_PACKAGES[@]}"; do
		# a Node.js from elsewhere ships its own npm: keep it
		[[ $p == nodejs ]] && command -v node >/dev/null && continue
		[[ $p == npm ]] && command -v npm >/dev/null && continue
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		log "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	local d
	for d in web tests/browser; do
		# again when the lock changed since the last install
		if [[ -f $d/package.json && ( ! -f $d/node_modules/.package-lock.json ||
			$d/package-lock.json -nt $d/node_modules/.package-lock.json ) ]]; then
			log "npm ci in $d"
			(cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
		fi
	done
}

build() {	# build DIR [meson options...]
	local dir=$1
	shift
	local out
	if [[ ! -f $dir/build.ninja ]]; then
		out=$(meson setup "$dir" "$@" 2>&1) || { printf '%s\n' "$out" | tail -40; return 1; }
	fi
	out=$(ninja -C "$dir" 2>&1) || { printf '%s\n' "$out" | tail -60; return 1; }
}

# The libFuzzer harnesses (tests/fuzz): a clang build, of their targets
# alone, so that a warning only clang gives elsewhere cannot stop them.
FUZZ_TARGETS=(tests/fuzz/fuzz_ops tests/fuzz/fuzz_snapshot tests/fuzz/fuzz_http
	tests/fuzz/seed_dump tests/fuzz/test_json_check)
build_fuzz() {
	local out
	if [[ ! -f build-fuzz/build.ninja ]]; then
		out=$(CC=clang meson setup build-fuzz -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false 2>&1) ||
			{ printf '%s\n' "$out" | tail -40; return 1; }
	fi
	out=$(ninja -C build-fuzz "${FUZZ_TARGETS[@]}" 2>&1) ||
		{ printf '%s\n' "$out" | tail -60; return 1; }
}

# meson test in DIR; adds its counts to PASSED/FAILED
run_tests() {
	local dir=$1 out rc=0
	out=$(meson test -C "$dir" --print-errorlogs "${@:2}" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Expected Fail|Unexpected Pass|Skipped|Timeout): ' || true
	if ((rc)); then
		# the failing tests' own output, as --print-errorlogs gave it
		printf '%s\n' "$out" | grep -vE '^ *[0-9]+/[0-9]+ .* OK ' | tail -200
	fi
	local ok fail
	ok=$(printf '%s\n' "$out" | sed -n 's/^Ok: *\([0-9]*\).*/\1/p' | tail -1)
	fail=$(printf '%s\n' "$out" | awk '/^(Fail|Timeout|Unexpected Pass): */ {n += $NF} END {print n + 0}')
	PASSED=$((PASSED + ${ok:-0}))
	FAILED=$((FAILED + ${fail:-0}))
	if ((rc)) && ((${fail:-0} == 0)); then
		FAILED=$((FAILED + 1))
	fi
}

case "${1:-}" in
run)
	install_packages
	build build
	if [[ ! -x build/daemon/rmapd ]]; then
		log "build/daemon/rmapd was not built"
		exit 1
	fi
	log "rmapd on http://127.0.0.1:8080/ (database ./rmapd.sqlite; Ctrl-C stops it)"
	exec build/daemon/rmapd --listen 127.0.0.1:8080 --db ./rmapd.sqlite --web-root web
	;;
test)
	install_packages
	if ! build build || ! build build-san -Db_sanitize=address,undefined -Db_lundef=false ||
		! build build-tsan -Db_sanitize=thread -Db_lundef=false || ! build_fuzz; then
		log "the build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	PASSED=0 FAILED=0
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	# any data race stops the daemon (exit 66), which fails its test
	export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1
	echo "== tests (plain build)"
	run_tests build
	echo "== tests (ASan + UBSan build)"
	run_tests build-san --no-suite browser --no-suite pg-browser --no-suite fidelity
	echo "== tests (ThreadSanitizer build: the daemon under concurrent clients)"
	run_tests build-tsan --suite api --suite durability --suite cluster
	echo "== fuzz harnesses (clang, libFuzzer, a few seconds each)"
	run_tests build-fuzz --suite fuzz --no-rebuild
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
