#!/usr/bin/env bash
# Refresh the admin UI's vendored browser libraries from npm (no CDN at run time).
#
#   cd tools/ui-vendor && ./copy.sh
#
# Installs exactly what package-lock.json pins (npm ci), then copies the built files into
# src/stargate/ui/static/vendor/, which is committed: the gateway needs neither npm nor the
# network to serve the UI. Change a version in package.json, run `npm install` once to update
# the lock file, then run this script and commit both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../../src/stargate/ui/static/vendor"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/uplot/dist/uPlot.iife.min.js "$dest/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$dest/uPlot.min.css"
cp node_modules/htmx.org/LICENSE "$dest/htmx.LICENSE"
cp node_modules/uplot/LICENSE "$dest/uPlot.LICENSE"
{
  echo "Copied by tools/ui-vendor/copy.sh from npm (versions pinned in tools/ui-vendor/package-lock.json):"
  echo "htmx.org $(node -p "require('./node_modules/htmx.org/package.json').version")"
  echo "uplot $(node -p "require('./node_modules/uplot/package.json').version")"
} > "$dest/VERSIONS.txt"
echo "vendored into $dest"
