#!/bin/sh
# Stands in for /usr/sbin/ioreg in tests on Linux: checks the arguments the receiver passes
# and prints a captured plist. FAKE_IOREG_* variables choose the behaviour.
if [ "$*" != "-a -r -d 1 -c IOAccelerator" ]; then
  echo "unexpected arguments: $*" >&2
  exit 64
fi
if [ -n "$FAKE_IOREG_SLEEP" ]; then sleep "$FAKE_IOREG_SLEEP"; fi
if [ -n "$FAKE_IOREG_EXIT" ]; then printf 'ioreg: \033[31mfailure\033[0m\n' >&2; exit "$FAKE_IOREG_EXIT"; fi
cat "$FAKE_IOREG_FIXTURE"
