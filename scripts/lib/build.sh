# shellcheck shell=bash disable=SC2034  # the arrays are used by the scripts that source this
# CMake configure helpers shared by scripts/test and scripts/demo, so both configure build/ the
# same way and never fight over its cache. Run from the repository root.

# The main build: optimised with debug info, warnings are errors, everything built.
# Every option is passed explicitly so a reused build directory ends up in the same state.
STATEWATCH_MAIN_CMAKE_ARGS=(
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  -DSTATEWATCH_WERROR=ON
  -DSTATEWATCH_SANITIZE=OFF
  -DSTATEWATCH_BUILD_BENCH=ON
  -DSTATEWATCH_BUILD_EXAMPLES=ON
)

# The sanitizer build: clang, ASan + UBSan at -O1 -g, with libFuzzer's coverage instrumentation
# (STATEWATCH_FUZZ), so the same objects serve the sanitized unit tests and the fuzz targets
# (scripts/fuzz). Overriding the RelWithDebInfo flags drops -DNDEBUG, so assert()s (e.g.
# Result::value() on an error) are live under the sanitizers. Warnings are errors here too.
STATEWATCH_ASAN_CMAKE_ARGS=(
  -DCMAKE_CXX_COMPILER=clang++
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
  -DSTATEWATCH_WERROR=ON
  -DSTATEWATCH_SANITIZE=OFF
  -DSTATEWATCH_FUZZ=ON
  -DSTATEWATCH_BUILD_BENCH=OFF
  -DSTATEWATCH_BUILD_EXAMPLES=OFF
)

# statewatch_configure DIR [CMAKE_ARGS...]
# Configures DIR with Ninja. A directory configured earlier with another generator has its CMake
# cache reset first (CMake refuses to switch generators in place).
statewatch_configure() {
  local dir="$1"
  shift
  if [[ -f "$dir/CMakeCache.txt" ]] &&
    ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; then
    echo "note: $dir was configured with another generator; resetting its CMake cache"
    rm -rf -- "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  # CMake cannot switch compilers in place either: a directory configured with another compiler
  # than an explicit -DCMAKE_CXX_COMPILER asks for (clang++ for the sanitizer build) starts
  # afresh.
  local want="" arg
  for arg in "$@"; do
    if [[ "$arg" == -DCMAKE_CXX_COMPILER=* ]]; then want="${arg#-DCMAKE_CXX_COMPILER=}"; fi
  done
  if [[ -n "$want" && -f "$dir/CMakeCache.txt" ]] &&
    ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=\(.*/\)\{0,1\}${want}\$" "$dir/CMakeCache.txt"; then
    echo "note: $dir was configured with another compiler; resetting its CMake cache"
    rm -rf -- "$dir/CMakeCache.txt" "$dir/CMakeFiles"
  fi
  cmake -S . -B "$dir" -G Ninja "$@"
}
