# shellcheck shell=bash
# The Debian 12 packages statewatch needs, in one place. Sourced by scripts/test and scripts/demo.
#
#   source scripts/lib/packages.sh
#   ensure_packages        # installs whatever is missing (root), or names it and fails (non-root)
#
# Nothing is fetched when everything is already installed: `apt-get update` runs only when at
# least one package is missing, and then only once.

# Compilers, build tools and libraries the code links against (see DESIGN.md, "Conventions").
STATEWATCH_BUILD_PACKAGES=(
  cmake
  ninja-build
  g++
  pkg-config
  librocksdb-dev
  prometheus-cpp-dev
  libcpp-httplib-dev
  libyaml-cpp-dev
  libboost-dev
  libsqlite3-dev
  libgtest-dev
  libgmock-dev
  nlohmann-json3-dev
  libspdlog-dev
  libcli11-dev
  libsystemd-dev
  libbenchmark-dev
  clang-format
  dpkg-dev
)

# Real servers and tools the integration tests talk to (prometheus and promtool, alertmanager,
# ldb, systemd-analyze for the unit checks, a headless browser for the status page, wrk for the
# HTTP API load test).
STATEWATCH_TEST_PEER_PACKAGES=(
  prometheus
  prometheus-alertmanager
  rocksdb-tools
  systemd
  chromium
  wrk
)

# The sanitizer build's compiler (scripts/test's build-asan/, which scripts/fuzz shares): clang
# and its libFuzzer and sanitizer runtimes (clang 14 in Debian 12). scripts/fuzz installs the
# build packages plus these, without the test peers.
STATEWATCH_FUZZ_PACKAGES=(
  clang
  libclang-rt-14-dev
)

STATEWATCH_PACKAGES=("${STATEWATCH_BUILD_PACKAGES[@]}" "${STATEWATCH_FUZZ_PACKAGES[@]}"
  "${STATEWATCH_TEST_PEER_PACKAGES[@]}")

# True when dpkg records package $1 as fully installed.
package_installed() {
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == "install ok installed" ]]
}

# Prints the missing packages of STATEWATCH_PACKAGES, one per line.
missing_packages() {
  local pkg
  for pkg in "${STATEWATCH_PACKAGES[@]}"; do
    package_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

# Installs the missing packages. Returns non-zero (after saying why) when something is missing
# and this is not root, or when apt-get fails. Safe without a terminal (CI, no stdin).
ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "error: dpkg-query not found; statewatch's scripts expect Debian 12." >&2
    echo "       Install these packages by other means: ${STATEWATCH_PACKAGES[*]}" >&2
    return 1
  fi

  local missing=()
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    echo "packages: all ${#STATEWATCH_PACKAGES[@]} Debian packages present"
    return 0
  fi

  echo "packages: missing ${#missing[@]}: ${missing[*]}"
  if ((EUID != 0)); then
    echo "error: not root, so cannot install them. Run as root, or:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    return 1
  fi

  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null || {
    echo "error: apt-get update failed" >&2
    return 1
  }
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null || {
    echo "error: apt-get install failed for: ${missing[*]}" >&2
    return 1
  }

  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} != 0)); then
    echo "error: still not installed after apt-get: ${missing[*]}" >&2
    return 1
  fi
  echo "packages: installed; all ${#STATEWATCH_PACKAGES[@]} present"
}
