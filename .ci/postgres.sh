# Source this file (bash): start a throw-away PostgreSQL server on 127.0.0.1 for the audit
# and database-book tests and export WORKOUT_TEST_PG_URL; it is stopped when the sourcing shell exits.
# Installs Debian's postgresql package when no server binaries are found (CI runs as root).
# Usage: source .ci/postgres.sh   (PGPORT_WORKOUT=54329 by default)

_workout_pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_workout_pg_start() {
    local bin port data log runas
    bin="$(_workout_pg_bin)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "postgres: installing Debian's postgresql package"
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
        bin="$(_workout_pg_bin)"
    fi
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "postgres: no server binaries found after the install" >&2
        return 1
    fi
    port="${PGPORT_WORKOUT:-54329}"
    data="$(mktemp -d /tmp/workout-pg.XXXXXX)"
    log="$data.log"
    runas=()
    if [ "$(id -u)" = 0 ]; then  # initdb and postgres refuse to run as root
        chown postgres:postgres "$data"
        touch "$log" && chown postgres:postgres "$log"
        runas=(runuser -u postgres --)
    fi
    "${runas[@]}" "$bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >/dev/null || return 1
    "${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
        cat "$log" >&2
        return 1
    }
    export WORKOUT_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    export _WORKOUT_PG_STOP="${runas[*]} $bin/pg_ctl -D $data -m fast -w stop"
    trap 'eval "$_WORKOUT_PG_STOP" >/dev/null 2>&1; rm -rf "'"$data"'" "'"$log"'"' EXIT
    echo "postgres: server on 127.0.0.1:$port for the audit and database-book tests"
}

_workout_pg_start
