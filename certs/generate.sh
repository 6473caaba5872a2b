#!/usr/bin/env bash
# Regenerates the reference device in certs/reference: a development factory, a device store
# with the partitions "default" (ECDSA P-256 timestamp key) and "rsa" (RSA-3072 timestamp key),
# their certificate chains, and certs/README.md with every file's SHA-256 fingerprint.
# Everything under certs/reference/test-only is a TEST-ONLY fixture, keys included.
# Run from a built checkout: npm run build && certs/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
cli=(node ../dist/src/cli/attestamp.js)
fixture=reference/test-only

rm -rf reference
mkdir -p "$fixture"
export ATTESTAMP_OFFICER_PASSPHRASE='reference officer passphrase (TEST ONLY)'
unset ATTESTAMP_MASTER_KEY ATTESTAMP_MASTER_PASSPHRASE ATTESTAMP_DATA

"${cli[@]}" factory init --out "$fixture/factory" --development \
  --organization 'attestamp reference TEST ONLY' --country XX >/dev/null
"${cli[@]}" init --data "$fixture/device" --factory "$fixture/factory" >/dev/null
"${cli[@]}" partition create rsa --data "$fixture/device" --timestamp-algorithm rsa-3072 >/dev/null
"${cli[@]}" chain default --data "$fixture/device" --out reference/default >/dev/null
"${cli[@]}" chain rsa --data "$fixture/device" --out reference/rsa >/dev/null
printf 'TEST ONLY: keys and secrets of the reference fixture. Never use them for anything else.\n' \
  >"$fixture/TEST-ONLY"

fingerprint() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
{
  echo '# Reference device (test fixture)'
  echo
  echo 'Made by `certs/generate.sh` (after `npm run build`), which runs the `attestamp` CLI:'
  echo '`factory init --development`, `init`, `partition create rsa --timestamp-algorithm rsa-3072`,'
  echo 'and `chain` for each partition. Docs and tests use these files.'
  echo
  echo "Generated $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(openssl version | cut -d' ' -f1-2) and Node.js $(node --version)."
  echo
  echo '**Everything under `reference/test-only/` is TEST ONLY**: the factory root key, the device'
  echo 'store, its master key and the officer passphrase are published on purpose so that tests can'
  echo 'open the store. No other private key is committed in this repository.'
  echo
  echo '| file | SHA-256 of the DER certificate |'
  echo '| --- | --- |'
  for f in reference/default/*.pem reference/rsa/*.pem; do
    case "$f" in */bundle.pem) continue ;; esac
    echo "| \`$f\` | \`$(fingerprint "$f")\` |"
  done
  echo
  echo 'Check a chain with:'
  echo
  echo '```sh'
  echo 'openssl verify -CAfile certs/reference/default/root.pem \'
  echo '  -untrusted certs/reference/default/device.pem certs/reference/default/partition-timestamp.pem'
  echo '```'
} >README.md
echo "reference device written to $here/reference"
