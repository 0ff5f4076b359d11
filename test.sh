#!/usr/bin/env bash
# Runs the whole test suite. Works on a fresh Debian machine that has only the .NET SDK:
# everything else the tests need comes from NuGet during the build.
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build ChatPlatform.sln -c Release -nologo -v quiet
dotnet test --solution ChatPlatform.sln -c Release --no-build "$@"
