#!/usr/bin/env bash
# Installs what the browser tests and the Web Chat bundle need, from Debian, when it is missing:
# chromium (driven by Playwright; its own browser downloads are never used), a CJK font for the Chinese
# screenshots, and npm (the server's build installs botframework-webchat from the npm registry).
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk' || missing+=(fonts-wqy-zenhei)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
  echo "Missing ${missing[*]} and this user cannot install them: run 'apt-get install ${missing[*]}' as root" >&2
  exit 1
fi
echo "Installing ${missing[*]} (Debian packages)..." >&2
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
