# Shared by scripts/*: installs what velora's build and tests need, when missing.
# Sourced, not run.

velora_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# ensure_apt PKG...: installs Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "velora: missing Debian packages: ${missing[*]} (install them as root)" >&2
    return 1
  fi
  echo "velora: installing ${missing[*]}" >&2
  if [ ! -f /var/lib/apt/velora-updated ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    apt-get update -qq >&2 && touch /var/lib/apt/velora-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The Swift toolchain: /opt/swift on these machines.
ensure_swift() {
  if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  fi
  command -v swift >/dev/null || { echo "velora: the Swift toolchain (swift) is not on PATH" >&2; return 1; }
}
