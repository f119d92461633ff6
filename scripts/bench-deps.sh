#!/usr/bin/env bash
# What the benchmarks compare against: DataLad and pandas (PyPI), git-annex (Debian), installed if
# missing; frictionless is a dependency of cohortvault itself.
set -euo pipefail
bin=$1
if ! command -v git-annex >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends git-annex >/dev/null
fi
if [ ! -x "$bin/datalad" ] || ! "$bin/python" -c "import pandas" 2>/dev/null; then
  "$bin/pip" install --quiet --editable '.[bench]'
fi
