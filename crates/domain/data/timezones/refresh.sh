#!/usr/bin/env bash
# Re-creates map_data.txt from libphonenumber's repository at a release tag:
#   bash crates/domain/data/timezones/refresh.sh v9.0.33
# then set SOURCE in crates/domain/src/zones.rs to the same version (and the
# phonenumbers pin in .ci/run, which the comparison test installs). A new
# version renumbers zone sets; contactsd recomputes every contact's set at
# its next start when SOURCE differs from the one the database was built
# with.
set -euo pipefail
tag="${1:?usage: refresh.sh vX.Y.Z}"
here="$(cd "$(dirname "$0")" && pwd)"
curl -fsSL "https://raw.githubusercontent.com/google/libphonenumber/${tag}/resources/timezones/map_data.txt" \
    -o "$here/map_data.txt"
echo "map_data.txt is now libphonenumber ${tag}"
