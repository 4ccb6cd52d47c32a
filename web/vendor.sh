#!/usr/bin/env bash
# Copy the pinned layout library from node_modules into web/vendor/, which
# rmapd serves (no CDN: the page works offline).  Run after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p vendor
cp node_modules/elkjs/lib/elk.bundled.js vendor/elk.bundled.js
