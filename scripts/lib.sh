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

# Starts a private Slurm cluster of one node (munged, slurmctld, slurmd, all as root) in a
# temporary directory, its node holding one gres `gpu` backed by a fake device node (the
# numbers of /dev/null, made with mknod); sets SLURM_DIR and exports SLURM_CONF and
# JIEBANG_TEST_SLURM (the directory, which tells the Slurm tests a cluster is up). Call
# slurm_stop (e.g. from a trap) to stop it and remove the directory.
slurm_start() {
    ensure_packages slurm-wlm munge
    [ "$(id -u)" -eq 0 ] || { echo "slurm_start needs root (slurmd runs jobs as their user)" >&2; return 1; }
    SLURM_DIR=$(mktemp -d /tmp/jiebang-slurm.XXXXXX)
    local dir=$SLURM_DIR node=jiebang-node cpus memory ctld_port node_port
    mkdir -p "$dir/state" "$dir/spool" "$dir/dev" "$dir/munge" "$dir/jobs"
    chmod 0700 "$dir/munge"
    mknod "$dir/dev/fakegpu1" c 1 3
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 \
        || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
    chmod 0400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
        --seed-file="$dir/munge/munged.seed" \
        || { cat "$dir/munge/munged.log" >&2; return 1; }
    cpus=$(nproc)
    memory=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
    ctld_port=$(free_port)
    node_port=$(free_port)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=jiebang
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$node_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MinJobAge=3600
ReturnToService=2
SchedulerParameters=sched_interval=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory Gres=gpu:1 State=UNKNOWN
PartitionName=jiebang Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    # The gres: one `gpu` whose device is the fake node; Slurm reports it by its number (1).
    echo "NodeName=$node Name=gpu File=$dir/dev/fakegpu1" >"$dir/gres.conf"
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF" || { cat "$dir/slurmctld.log" >&2; return 1; }
    slurmd -f "$SLURM_CONF" -N "$node" || { cat "$dir/slurmd.log" >&2; return 1; }
    local waited=0
    until sinfo --noheader --states=idle --format=%n 2>/dev/null | grep -qx "$node"; do
        if [ $waited -ge 60 ]; then
            echo "the Slurm node never became idle:" >&2
            sinfo -N >&2 || true
            tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    export SLURM_DIR JIEBANG_TEST_SLURM="$dir"
    log "Slurm $(sinfo --version | awk '{print $2}') running: node $node with gres gpu:1"
}

slurm_stop() {
    [ -n "${SLURM_DIR:-}" ] || return 0
    local pidfile
    for pidfile in "$SLURM_DIR/slurmd.pid" "$SLURM_DIR/slurmctld.pid" "$SLURM_DIR/munge/munged.pid"; do
        [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    sleep 1
    rm -rf "$SLURM_DIR"
    SLURM_DIR=""
}
