#!/usr/bin/env bash
# Debian packages the app, its tests and benchmarks need (wrk: benchmarks/pages.py); installs only what is missing.
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in chromium fonts-noto-cjk fontconfig libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils dovecot-imapd wrk nodejs npm; do
  have_pkg "$pkg" || need+=("$pkg")
done
# pg_dump/pg_restore for `flask backup`/`restore` and their tests (same major version as the server).
command -v pg_dump >/dev/null || need+=(postgresql-client)
# nodejs/npm may come from elsewhere (nvm, NodeSource): accept any working node and npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  need=("${need[@]/nodejs}"); need=("${need[@]/npm}")
fi
read -r -a need <<< "${need[*]:-}"
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # policy-rc.d keeps Debian from starting the system Dovecot: the tests start their own on loopback.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Fandol fonts (GPL + font exception) for the official PDFs: FandolFang is a free 仿宋 (body),
# FandolSong 宋 (title, page numbers), FandolHei 黑 (headings); Noto CJK covers rarer characters.
# Debian ships them only inside texlive-lang-chinese (~260 MB with TeX Live), so we fetch that
# Debian package and install just these font files for fontconfig.
FANDOL_DIR=/usr/local/share/fonts/fandol
FANDOL_FILES="FandolFang-Regular.otf FandolSong-Regular.otf FandolSong-Bold.otf FandolHei-Regular.otf"
missing_font=0
for f in $FANDOL_FILES; do [ -f "$FANDOL_DIR/$f" ] || missing_font=1; done
if [ "$missing_font" -eq 1 ]; then
  echo "Installing the Fandol fonts from Debian's texlive-lang-chinese"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download texlive-lang-chinese >/dev/null 2>&1) \
    || { $SUDO apt-get update -qq && (cd "$tmp" && apt-get download texlive-lang-chinese); }
  dpkg-deb -x "$tmp"/texlive-lang-chinese_*.deb "$tmp/x"
  src="$tmp/x/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol"
  doc="$tmp/x/usr/share/doc/texlive-doc/fonts/fandol"
  $SUDO mkdir -p "$FANDOL_DIR"
  for f in $FANDOL_FILES; do $SUDO install -m 0644 "$src/$f" "$FANDOL_DIR/"; done
  $SUDO install -m 0644 "$doc/README" "$FANDOL_DIR/README"
  zcat "$doc/COPYING.gz" | $SUDO tee "$FANDOL_DIR/COPYING" >/dev/null
  $SUDO fc-cache -f "$FANDOL_DIR" >/dev/null
fi
