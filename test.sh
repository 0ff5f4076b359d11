#!/usr/bin/env bash
# Runs the whole test suite. Works on a fresh Debian machine that has only the .NET SDK:
# everything else the tests need comes from NuGet during the build, and the store tests' PostgreSQL server
# is installed (Debian package) and started on 127.0.0.1 by .ci/postgres.sh unless CHATPLATFORM_TEST_POSTGRES
# already names one (set it to "none" to skip the PostgreSQL half of the store tests).
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ -z "${CHATPLATFORM_TEST_POSTGRES:-}" ]; then
  CHATPLATFORM_TEST_POSTGRES=$(.ci/postgres.sh)
  export CHATPLATFORM_TEST_POSTGRES
fi

# Chromium, a CJK font and npm for the browser tests and the Web Chat bundle.
.ci/browser-deps.sh

dotnet build ChatPlatform.sln -c Release -nologo -v quiet
dotnet test --solution ChatPlatform.sln -c Release --no-build "$@"
