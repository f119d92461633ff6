#!/usr/bin/env bash
# Print how to sign in to the demo instance before serving it.
set -euo pipefail
dir=$1 host=$2 port=$3
# Security keys (WebAuthn) need a host name; localhost reaches the same server as 127.0.0.1.
[ "$host" = "127.0.0.1" ] && host=localhost
cat <<TEXT

  cohortvault demo: http://$host:$port/

  Users, passwords and authenticator secrets: $dir/demo-credentials.json
  A current one-time code for a user:         .venv/bin/cohortvault demo-otp USER --data-dir $dir
  For example, sign in as the data protection officer:
      username  dpo
      password  $(python3 -c "import json,sys; print(next(u['password'] for u in json.load(open(sys.argv[1])) if u['username']=='dpo'))" "$dir/demo-credentials.json")
      code      .venv/bin/cohortvault demo-otp dpo --data-dir $dir

TEXT
