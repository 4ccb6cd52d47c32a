#!/usr/bin/env bash
# The units pass `systemd-analyze verify`, and the services' exposure rating
# from `systemd-analyze security --offline=true` is 2.0 or less: rmapd.service
# and an instance of the cluster's template rmapd@.service.
set -euo pipefail
service=$1 socket=$2 rmapd=$3 webroot=$4 template=$5
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing (apt-get install systemd)"; echo "0 passed, 1 failed"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed -e "s|^ExecStart=[^ ]*|ExecStart=$rmapd|" -e "s|--web-root [^ ]*|--web-root $webroot|" "$service" >"$dir/rmapd.service"
cp "$socket" "$dir/rmapd.socket"
sed -e "s|^ExecStart=[^ ]*|ExecStart=$rmapd|" -e "s|--web-root [^ ]*|--web-root $webroot|" "$template" >"$dir/rmapd@.service"
ln -s rmapd@.service "$dir/rmapd@1.service"
passed=0 failed=0
if out=$(systemd-analyze verify "$dir/rmapd.service" "$dir/rmapd.socket" "$dir/rmapd@1.service" 2>&1) && [[ -z $out ]]; then
	echo "ok   systemd-analyze verify accepts rmapd.service, rmapd.socket and rmapd@1.service"
	passed=$((passed + 1))
else
	echo "FAIL systemd-analyze verify: $out"
	failed=$((failed + 1))
fi
for unit in rmapd.service rmapd@1.service; do
	level=$(systemd-analyze security --offline=true "$dir/$unit" 2>/dev/null |
		sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")
	echo "systemd-analyze security $unit: overall exposure ${level:-unknown}"
	if [[ -n $level ]] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
		echo "ok   $unit exposure $level <= 2.0"
		passed=$((passed + 1))
	else
		echo "FAIL $unit exposure ${level:-unknown} > 2.0"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
((failed == 0))
