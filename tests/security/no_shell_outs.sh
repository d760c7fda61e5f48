#!/usr/bin/env bash
# The daemon and the CLI never start another program: no shell, no exec, no fork (DESIGN.md,
# security). Checked on the linked binaries, so a call pulled in by any of our libraries counts:
# every libc entry point that runs a program must be absent from their dynamic symbol imports.
#
#   no_shell_outs.sh BINARY...
set -euo pipefail
forbidden='system|popen|execl|execle|execlp|execv|execve|execvp|execvpe|fexecve|fork|vfork|clone|posix_spawn|posix_spawnp|wordexp'
status=0
for binary in "$@"; do
  if [[ ! -x "$binary" ]]; then
    echo "no_shell_outs: $binary is not an executable" >&2
    status=1
    continue
  fi
  found="$(nm -D --undefined-only "$binary" | awk '{print $NF}' | sed 's/@.*//' |
    grep -xE "$forbidden" || true)"
  if [[ -n "$found" ]]; then
    echo "no_shell_outs: $binary imports $(echo "$found" | tr '\n' ' ')" >&2
    status=1
  else
    echo "no_shell_outs: $binary imports none of: ${forbidden//|/ }"
  fi
done
exit "$status"
