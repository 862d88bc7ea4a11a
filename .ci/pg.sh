#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for ebbflow's tests: Debian's own server,
# run as a non-root user on a free loopback port, password authentication
# only (so the tests exercise real passwords, PGPASSWORD and ~/.pgpass).
#
#   bash .ci/pg.sh install   # apt-get install postgresql, only when no server is found
#   bash .ci/pg.sh start     # start (or reuse) the cluster; prints its URL on stdout
#   bash .ci/pg.sh url       # the running cluster's URL, or exit 1
#   bash .ci/pg.sh stop      # stop it and delete its data
#
# The URL (with the superuser's password) goes to stdout only; tests read it
# from EBBFLOW_TEST_PG, or run `start` themselves when that is unset. Data
# lives in $EBBFLOW_PG_DIR (default /tmp/ebbflow-pg), owned by the user
# $EBBFLOW_PG_USER (default ebbflow-pg, created when running as root).
set -euo pipefail

DIR=${EBBFLOW_PG_DIR:-/tmp/ebbflow-pg}
OS_USER=${EBBFLOW_PG_USER:-ebbflow-pg}
DB_USER=ebbflow

bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { echo "$d"; return; }
    done
    return 1
}

# Runs a command as the cluster's owner: PostgreSQL refuses to run as root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$OS_USER" -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$DIR/url" ] && [ -f "$DIR/data/postmaster.pid" ] &&
        as_owner "$(bindir)/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
install)
    if bindir >/dev/null; then
        echo "pg: server found in $(bindir)" >&2
        exit 0
    fi
    echo "pg: installing Debian's postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # The package's own default cluster is not used (and may fail to start
    # without an init system); ours is made by `start`.
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir >/dev/null || { echo "pg: no initdb after installing postgresql" >&2; exit 1; }
    ;;
start)
    if running; then
        cat "$DIR/url"
        exit 0
    fi
    bin=$(bindir) || {
        echo "pg: no PostgreSQL server found; run 'bash .ci/pg.sh install' (Debian's postgresql)" >&2
        exit 1
    }
    if [ "$(id -u)" = 0 ] && ! id "$OS_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown "$OS_USER" "$DIR"
    chmod 700 "$DIR"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
    printf '%s\n' "$password" >"$DIR/pwfile"
    [ "$(id -u)" = 0 ] && chown "$OS_USER" "$DIR/pwfile"
    as_owner "$bin/initdb" -D "$DIR/data" -U "$DB_USER" --pwfile="$DIR/pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
        { cat "$DIR/initdb.log" >&2; exit 1; }
    rm -f "$DIR/pwfile"
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
        -o "-p $port -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" >&2 ||
        { cat "$DIR/server.log" >&2; exit 1; }
    url="postgres://$DB_USER:$password@127.0.0.1:$port/postgres"
    printf '%s\n' "$url" >"$DIR/url"
    chmod 600 "$DIR/url"
    echo "pg: cluster up on 127.0.0.1:$port (data in $DIR/data)" >&2
    echo "$url"
    ;;
url)
    running && cat "$DIR/url"
    ;;
stop)
    if [ -d "$DIR/data" ] && bindir >/dev/null; then
        as_owner "$(bindir)/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 2>/dev/null || true
    fi
    rm -rf "$DIR"
    ;;
*)
    echo "usage: bash .ci/pg.sh install|start|url|stop" >&2
    exit 2
    ;;
esac
