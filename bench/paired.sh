#!/usr/bin/env bash
# Paired runs on a shared machine: per round, `cp` + `sync` of BASELINE_FILE, then the same
# tensorferry command with the BASE binary and with the NEW one, each from the same page-cache
# state (outputs removed, `sync`, the inputs read). Prints wall/user/sys/peak RSS and the load.
#
#   BASE=/path/to/old/tensorferry NEW=build/tensorferry bench/paired.sh LABEL WARM BASELINE_FILE \
#       -- convert -q IN OUT.bin          # OUT in the command is replaced by a scratch path
#
# WARM: a file or folder read before each run; ROUNDS (default 2); SCRATCH (default
# /tmp/tensorferry-paired) must be on the disk under test.
set -euo pipefail
label=$1 warm=$2 baseline=$3
shift 4
scratch=${SCRATCH:-/tmp/tensorferry-paired}
for round in $(seq "${ROUNDS:-2}"); do
  for who in cp base new; do
    rm -rf "$scratch" && mkdir -p "$scratch" && sync && sleep 1
    if [[ -d $warm ]]; then cat "$warm"/* >/dev/null; else cat "$warm" >/dev/null; fi
    case $who in
      cp) /usr/bin/time -f "$label round $round cp+sync %e s" \
            sh -c 'cp "$1" "$2/copy" && sync "$2/copy"' sh "$baseline" "$scratch" ;;
      base) /usr/bin/time -f "$label round $round base %e s user %U sys %S rss %MkB" \
              "$BASE" "${@//OUT/$scratch/out}" ;;
      new) /usr/bin/time -f "$label round $round new  %e s user %U sys %S rss %MkB" \
             "$NEW" "${@//OUT/$scratch/out}" ;;
    esac
  done 2>&1 | grep -E " s( |$)"
  echo "$label round $round load $(cut -d' ' -f1-3 /proc/loadavg)"
done
rm -rf "$scratch"
