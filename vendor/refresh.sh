#!/usr/bin/env bash
# Re-creates vendor/rocket, vendor/hyper, vendor/regex-cache and
# vendor/phonenumber: the crates
# as crates.io ships them, with contactsd's patches (vendor/patches/*.diff)
# applied. Run it to
# check the patched copies, or, with another version, to move the patches
# to a new release:
#
#   bash vendor/refresh.sh                    # the versions in Cargo.lock
#   ROCKET=0.5.3 HYPER=1.13.0 bash vendor/refresh.sh
#
# What the patches do, and why, is in docs/design.md ("Slow clients").
set -euo pipefail
cd "$(dirname "$0")"
ROCKET="${ROCKET:-0.5.2}"
HYPER="${HYPER:-1.12.0}"
REGEX_CACHE="${REGEX_CACHE:-0.2.1}"
PHONENUMBER="${PHONENUMBER:-0.3.10+9.0.33}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { # name version: unpack the crate from crates.io into $work/name
  local name=$1 version=$2
  (cd "$work" && mkdir -p "fetch-$name" && cd "fetch-$name" && cat > Cargo.toml <<TOML
[package]
name = "fetch-$name"
version = "0.0.0"
edition = "2021"
[dependencies]
$name = "=$version"
TOML
   mkdir -p src && echo 'fn main() {}' > src/main.rs && cargo fetch -q)
  local src
  src=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "$name-$version" | head -1)
  [ -n "$src" ] || { echo "$name $version not found after cargo fetch" >&2; exit 1; }
  rm -rf "$name"
  mkdir "$name"
  for f in Cargo.toml build.rs src LICENSE LICENSE-APACHE LICENSE-MIT README.md; do
    [ -e "$src/$f" ] && cp -r "$src/$f" "$name/"
  done
}
fetch rocket "$ROCKET"
(cd rocket && patch -p1 --no-backup-if-mismatch < "../patches/rocket-0.5.2.diff")
fetch hyper "$HYPER"
(cd hyper && patch -p1 --no-backup-if-mismatch < "../patches/hyper-1.12.0.diff")
fetch regex-cache "$REGEX_CACHE"
(cd regex-cache && patch -p1 --no-backup-if-mismatch < "../patches/regex-cache-0.2.1.diff")
fetch phonenumber "$PHONENUMBER"
# Its build script reads only the metadata file of its assets (the other
# 14 MB are carrier and geocoding data contactsd does not use).
src=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -maxdepth 2 -type d -name "phonenumber-$PHONENUMBER" | head -1)
mkdir -p phonenumber/assets
cp "$src/assets/PhoneNumberMetadata.xml" phonenumber/assets/
cp -r "$src/examples" "$src/tests" "$src/benches" phonenumber/
(cd phonenumber && patch -p1 --no-backup-if-mismatch < "../patches/phonenumber-0.3.10.diff")
echo "vendor/rocket ($ROCKET), vendor/hyper ($HYPER), vendor/regex-cache ($REGEX_CACHE) and vendor/phonenumber ($PHONENUMBER) re-created with their patches"
