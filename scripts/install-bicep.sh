#!/usr/bin/env bash
# Installs the official Bicep CLI pinned in tools/bicep/bicep-cli.csproj (NuGet package
# Azure.Bicep.CommandLine.linux-x64) into .tools/ (ignored by git) and prints the path of the
# native `bicep` executable. Idempotent: a second run restores nothing and prints the same path.
# Usage: export BICEP_CLI="$(scripts/install-bicep.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
packages="$root/.tools/nuget"
version="$(sed -n 's/.*Azure\.Bicep\.CommandLine\.linux-x64" Version="\[\([^]]*\)\]".*/\1/p' tools/bicep/bicep-cli.csproj)"
dir="$packages/azure.bicep.commandline.linux-x64/$version"

if [ ! -d "$dir" ]; then
  # Restore output goes to stderr so that stdout carries only the path.
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    dotnet restore tools/bicep/bicep-cli.csproj --packages "$packages" \
      -p:BaseIntermediateOutputPath="$root/.tools/obj/" >&2
fi

exe="$(find "$dir" -type f -name bicep | head -n 1)"
if [ -z "$exe" ]; then
  echo "install-bicep: no bicep executable in $dir" >&2
  exit 1
fi
chmod +x "$exe"
"$exe" --version >&2
echo "$exe"
