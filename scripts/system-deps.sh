#!/usr/bin/env bash
# Debian packages coord needs; installs only what is missing.
#
#   scripts/system-deps.sh run     what the app needs to run (PDF libraries and fonts): `make run`
#   scripts/system-deps.sh test    that, plus the test tools (Chromium, poppler, node): `make test`
#   scripts/system-deps.sh --list run|test   print the packages of a profile and exit
#
# Root (or password-less sudo) is needed only when something is missing; without it the script says
# exactly which packages are missing and the command that installs them, and stops.
set -euo pipefail

# The app: python3-venv for the virtualenv; WeasyPrint needs Pango, HarfBuzz's subsetter (fonts
# embedded as small subsets, ~0.4 s a page instead of ~20 s) and CJK fonts through fontconfig.
RUN_PKGS=(python3-venv fontconfig fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0)
# The tests only: a real browser, PDF readers, node for ical.js, Dovecot (a real IMAP server for the
# calendar-answer tests; they start their own on loopback), pg_dump for the backup tests, and wrk for
# benchmarks/pages.py.
TEST_PKGS=(chromium poppler-utils nodejs npm dovecot-imapd postgresql-client wrk)

list=0
if [ "${1:-}" = "--list" ]; then list=1; shift; fi
profile="${1:-test}"
case "$profile" in
  run) pkgs=("${RUN_PKGS[@]}") ;;
  test) pkgs=("${RUN_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 [--list] run|test" >&2; exit 2 ;;
esac
if [ "$list" -eq 1 ]; then printf '%s\n' "${pkgs[@]}"; exit 0; fi

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for pkg in "${pkgs[@]}"; do
  case "$pkg" in
    # nodejs/npm may come from elsewhere (nvm, NodeSource): accept any working node and npm.
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    # pg_dump of any installed client version will do (the server's own packages bring one).
    postgresql-client) command -v pg_dump >/dev/null && continue ;;
  esac
  have_pkg "$pkg" || need+=("$pkg")
done

# How to become root without a prompt: already root, or password-less sudo. Empty: cannot.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 99
  fi
}
can_root() { [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; }

if [ ${#need[@]} -gt 0 ]; then
  if ! can_root; then
    echo "缺少系统软件包 / missing Debian packages: ${need[*]}" >&2
    echo "安装需要 root 权限，请运行 / installing them needs root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    echo "然后再运行 make ${profile} / then run make ${profile} again." >&2
    exit 1
  fi
  echo "安装系统软件包 / installing Debian packages: ${need[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Fandol fonts (GPL + font exception) for the official PDFs: FandolFang is a free 仿宋 (body),
# FandolSong 宋 (title, page numbers), FandolHei 黑 (headings); Noto CJK covers rarer characters.
# Debian ships them only inside texlive-lang-chinese (~260 MB with TeX Live), so we fetch that
# Debian package (apt-get download needs no root) and install just these font files for fontconfig:
# system-wide as root, else in the user's own font folder.
FANDOL_FILES="FandolFang-Regular.otf FandolSong-Regular.otf FandolSong-Bold.otf FandolHei-Regular.otf"
FANDOL_SYSTEM=/usr/local/share/fonts/fandol
FANDOL_USER="${XDG_DATA_HOME:-$HOME/.local/share}/fonts/fandol"
fonts_in() { local d=$1 f; for f in $FANDOL_FILES; do [ -f "$d/$f" ] || return 1; done; }
if ! fonts_in "$FANDOL_SYSTEM" && ! fonts_in "$FANDOL_USER"; then
  if can_root; then dest=$FANDOL_SYSTEM; else dest=$FANDOL_USER; fi
  echo "安装 Fandol 字体（正式文书 PDF 用）/ installing the Fandol fonts into $dest"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && apt-get download texlive-lang-chinese >/dev/null 2>&1); then
    can_root && as_root apt-get update -qq
    (cd "$tmp" && apt-get download texlive-lang-chinese >/dev/null 2>&1) || {
      echo "无法下载 texlive-lang-chinese（Fandol 字体）：PDF 文书将无法生成 / could not download the Fandol fonts:" \
           "PDF documents will not render until they are installed." >&2
      [ "$profile" = "run" ] && exit 0 || exit 1
    }
  fi
  dpkg-deb -x "$tmp"/texlive-lang-chinese_*.deb "$tmp/x"
  src="$tmp/x/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol"
  doc="$tmp/x/usr/share/doc/texlive-doc/fonts/fandol"
  run_in() { if [ "$dest" = "$FANDOL_SYSTEM" ]; then as_root "$@"; else "$@"; fi; }
  run_in mkdir -p "$dest"
  for f in $FANDOL_FILES; do run_in install -m 0644 "$src/$f" "$dest/"; done
  run_in install -m 0644 "$doc/README" "$dest/README"
  zcat "$doc/COPYING.gz" > "$tmp/COPYING" && run_in install -m 0644 "$tmp/COPYING" "$dest/COPYING"
  run_in fc-cache -f "$dest" >/dev/null
fi
