#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages (when root), a venv in .venv with the project.
# Sourced or run by scripts/main.sh and scripts/test.sh; safe to run again (it does only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages: a real browser and its driver, nginx and haproxy for deployed-shape targets ---
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
[ -x /usr/bin/chromium-headless-shell ] || need_apt+=(chromium-headless-shell)   # optional lighter browser
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)   # --front haproxy (a fleet)
command -v certutil >/dev/null 2>&1 || need_apt+=(libnss3-tools)   # the browser trusts a private CA through NSS
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)                       # bench/bench_load.py reference figure
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)      # SSH transport: the harness runs its own sshd, never the service
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${need_apt[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    no_services=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then   # a package's install must not start its system service (sshd, nginx, haproxy)
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && no_services=1
    fi
    apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
    [ -z "$no_services" ] || rm -f /usr/sbin/policy-rc.d
  else
    say "missing system packages: ${need_apt[*]}; run: sudo apt-get install ${need_apt[*]}"
  fi
fi

# --- Python >= 3.11 for the harness ---
PY=""
for cand in "${HGHARNESS_PYTHON:-}" python3.13 python3.12 python3.11 python3; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$(command -v "$cand"); break
  fi
done
if [ -z "$PY" ]; then say "no Python >= 3.11 found (set HGHARNESS_PYTHON)"; exit 2; fi

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.hgharness-installed
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing the harness and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
