#!/usr/bin/env bash
# Builds the .deb from a configured, built tree and inspects it as dpkg would see it: the files
# and where they go, the control data (Depends from the binaries, conffiles, maintainer scripts
# that create the system user), and that what it ships works — the unit passes
# `systemd-analyze verify` with an exposure of at most 2.0, and the default config passes
# `statewatch check-config` with the packaged binary.
#
#   deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; exit 1; }
deb=$(ls "$work"/out/statewatch_*_*.deb)
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# --- contents
dpkg-deb -c "$deb" | awk '{print $1, $6}' >"$work/contents"
expect_file() {  # MODE PATH
  grep -qxF -e "$1 $2" "$work/contents" || fail "package lacks $2 with mode $1"
}
expect_file -rwxr-xr-x ./usr/bin/statewatchd
expect_file -rwxr-xr-x ./usr/bin/statewatch
expect_file -rw-r--r-- ./usr/lib/systemd/system/statewatchd.service
expect_file -rw-r--r-- ./etc/statewatch/statewatch.yaml
expect_file -rw-r--r-- ./etc/default/statewatchd
expect_file -rw-r--r-- ./usr/share/doc/statewatch/README.md
for f in "$source"/dashboards/*.json "$source"/dashboards/*.yml; do
  [ -e "$f" ] || continue
  expect_file -rw-r--r-- "./usr/share/statewatch/dashboards/$(basename "$f")"
done
# Nothing from the build tree or the tests leaks in.
if grep -E 'test|bench|\.a$|/include/' "$work/contents" | grep -v dashboards; then
  fail "package holds build or test files"
fi

# --- control data
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = statewatch ] || fail "Package is '$(field Package)'"
depends=$(field Depends)
for dep in adduser librocksdb libsqlite3 libsystemd0 libyaml-cpp; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
for f in /etc/statewatch/statewatch.yaml /etc/default/statewatchd; do
  grep -qxF "$f" "$work/control/conffiles" || fail "$f is not a conffile"
done
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script has a syntax error"
done
grep -q 'adduser --system --group' "$work/control/postinst" || fail "postinst creates no system user"

# --- what it ships works
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/statewatch" check-config "$work/root/etc/statewatch/statewatch.yaml" \
  >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; fail "default config rejected"; }
"$work/root/usr/bin/statewatchd" --help >/dev/null || fail "statewatchd --help failed"

unit="$work/statewatchd.service"
sed "s|/usr/bin/statewatchd|$work/root/usr/bin/statewatchd|" \
  "$work/root/usr/lib/systemd/system/statewatchd.service" >"$unit"
if command -v systemd-analyze >/dev/null; then
  verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
  [ -z "$verify" ] || fail "systemd-analyze verify warns: $verify"
  exposure=$(systemd-analyze security --offline=yes "$unit" 2>&1 |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  echo "systemd-analyze security: exposure $exposure"
  awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' ||
    fail "exposure '$exposure' is above 2.0"
  grep -q '^Type=notify$' "$unit" || fail "unit is not Type=notify"
else
  fail "systemd-analyze not installed (package systemd): the unit is unchecked"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all package checks passed"
