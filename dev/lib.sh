# Shared by dev/up, dev/test and .ci/run: make sure what the stack needs is installed and Redis
# answers. Each step is skipped when already done, so a second run starts in seconds.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# A Python 3.12 for the Django 6 run: $PYTHON312, pyenv's 3.12, or python3.12 on the PATH.
python312() {
  local pyenv_312
  pyenv_312=$(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python 2>/dev/null | tail -n 1)
  for candidate in "${PYTHON312:-}" "$pyenv_312" "$(command -v python3.12 || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# DJANGO_SERIES=6 runs on Django 6 (which needs Python 3.12) in a virtualenv of its own; the
# default is the 5.2 LTS on the machine's python3.
DJANGO_SERIES="${DJANGO_SERIES:-5.2}"
if [ "$DJANGO_SERIES" = 6 ]; then
  VENV="$ROOT/.venv-django6"
  BASE_PYTHON="$(python312)"
  DJANGO_PIN="Django>=6,<7"
else
  VENV="$ROOT/.venv"
  BASE_PYTHON=python3
  DJANGO_PIN="Django>=5.2,<5.3"
fi
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_updated=""
apt_install() {
  say "installing Debian packages: $*"
  if [ -z "$_apt_updated" ]; then
    as_root apt-get update -qq
    _apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_python_env() {
  local stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  say "installing Python packages into ${VENV#"$ROOT"/} ($DJANGO_PIN)"
  [ -x "$PY" ] || "$BASE_PYTHON" -m venv "$VENV"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q -e "$ROOT[dev]" "$DJANGO_PIN"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
}

ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  apt_install nodejs npm
}

ensure_provider_packages() {
  ensure_node
  local dir="$ROOT/dev/provider"
  local stamp="$dir/node_modules/.installed-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  say "installing the local identity provider (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
}

redis_answers() {
  # PING over a plain TCP socket: works before redis-cli is installed.
  "$PY" - "$1" <<'PY' 2>/dev/null
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
PY
}

ensure_redis() {
  local url="${1:-redis://127.0.0.1:6379/0}"
  redis_answers "$url" && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "$ROOT/.dev-run/redis.log" --dir "$ROOT/.dev-run"
  for _ in $(seq 50); do redis_answers "$url" && return 0; sleep 0.1; done
  echo "Redis did not start; see .dev-run/redis.log" >&2
  return 1
}

# The Sentinel and Redis Cluster tests (tests/deployment) start redis-server processes of their
# own (a sentinel is `redis-server --sentinel`; `redis-cli --cluster create` joins a cluster), so
# both binaries must be here even when the Redis the other tests use runs elsewhere
# (TEST_REDIS_URL).
ensure_redis_server_binary() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-cli >/dev/null || apt_install redis-tools
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

mkdir -p "$ROOT/.dev-run"
