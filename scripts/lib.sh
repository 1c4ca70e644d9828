# Shared shell functions for scripts/test and scripts/serve: packages and a private PostgreSQL.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

steps_line=""
step_started=0
# Records the wall time since the previous step ended (or the shell started) as step NAME.
step_done() {
    steps_line+="$1 $((SECONDS - step_started)) s, "
    step_started=$SECONDS
}

# Prints the recorded steps and the whole run's wall time.
step_times() {
    printf 'wall time: %stotal %d s\n' "$steps_line" "$SECONDS"
}

apt_updated=""
# Installs Debian packages that are missing; a no-op when all are present.
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

pg_bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a PostgreSQL program as the `postgres` user when we are root (the server refuses root).
pg_run() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Starts a throw-away cluster in a temporary directory on a free port; sets PG_DIR, PG_PORT,
# PG_URL. Call pg_stop (e.g. from a trap) to stop it and remove the directory.
pg_start() {
    ensure_packages postgresql libpq-dev
    local bin
    bin=$(pg_bin_dir)
    [ -n "$bin" ] || { echo "PostgreSQL server programs not found under /usr/lib/postgresql" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/jiebang-pg.XXXXXX)
    PG_PORT=$(free_port)
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
    pg_run "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    pg_run "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    export PG_DIR PG_PORT PG_URL
    log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on port $PG_PORT"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    pg_run "$(pg_bin_dir)/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# aiosmtpd, the SMTP server program the e-mail tests send notifications to (PyPI).
smtp_fetch() {
    if ! python3 -c "import aiosmtpd" 2>/dev/null; then
        python3 -m pip install --quiet aiosmtpd==1.4.6
    fi
}

# axe-core for the browser tests' accessibility check: the copy that the PyPI package
# axe-selenium-python ships, fetched once with pip into target/axe/ (JIEBANG_AXE_JS names it).
axe_fetch() {
    local dir=target/axe
    if [ ! -s "$dir/axe.min.js" ]; then
        mkdir -p "$dir"
        python3 -m pip download --quiet --no-deps --dest "$dir" axe-selenium-python==2.1.6
        python3 - "$dir" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/axe_selenium_python-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("axe_selenium_python/node_modules/axe-core/axe.min.js")
open(sys.argv[1] + "/axe.min.js", "wb").write(data)
PY
    fi
    export JIEBANG_AXE_JS="$PWD/$dir/axe.min.js"
}
