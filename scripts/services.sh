#!/usr/bin/env bash
# Make sure the database servers of the integration tests run on this machine:
#   PostgreSQL  127.0.0.1:5432  user postgres, no password (trust)
#   MariaDB     127.0.0.1:3306  user root, no password
#   Redis       127.0.0.1:6379  no password, nothing saved to disk
#   etcd        127.0.0.1:2379  plain HTTP, no auth (Debian's etcd-server 3.4, v3 API)
# CI runs it (as root) before the tests, which it then runs with TENANTDB_REQUIRE_SERVICES=1.
#
# Idempotent: a server that answers is left alone; one that does not is started and waited
# for (up to SERVICES_WAIT_S seconds, default 60). On a fresh Debian machine it installs
# the missing packages (postgresql, mariadb-server, redis-server, etcd-server) and allows
# the password-less local logins above; where those packages are installed and the logins
# work, it changes nothing. Redis and etcd are started by this script itself (not by their
# packages' init scripts, which are kept from running during the install: there is no init
# system in a container), and keep running after it exits.
#
# Each service is a pair of functions (start_<service>, plus checks), so more can be added
# (a PostgreSQL replica on 5433) by writing another pair and calling it from main.
set -euo pipefail

PG_PORT=5432
MYSQL_PORT=3306
REDIS_PORT=6379
ETCD_PORT=2379
ETCD_PEER_PORT=2380
ETCD_DATA_DIR=/var/lib/tenantdb-etcd
ETCD_LOG=/var/log/tenantdb-etcd.log
ETCD_PIDFILE=/run/tenantdb-etcd.pid
WAIT_S=${SERVICES_WAIT_S:-60}

log() { printf 'services.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# wait_for DESCRIPTION COMMAND...: run COMMAND until it succeeds, or fail after WAIT_S seconds.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + WAIT_S))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            die "$what: not ready after ${WAIT_S}s (raise SERVICES_WAIT_S, or see the server log)"
        fi
        sleep 0.5
    done
    log "$what: ready"
}

# missing_packages PACKAGE...: print those of PACKAGE... that are not installed.
missing_packages() {
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$package"
        fi
    done
}

# ensure_packages PACKAGE...: apt-get install those not installed yet (needs root).
ensure_packages() {
    local missing=()
    mapfile -t missing < <(missing_packages "$@")
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "packages ${missing[*]} are missing; run as root to install them"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
}

POLICY_RC_D=/usr/sbin/policy-rc.d

# ensure_server_packages PACKAGE...: ensure_packages, but with a policy-rc.d that forbids the
# packages' maintainer scripts to start their services. Without an init system their start
# would fail (and fail the install), and the start_* functions below start each server with
# the flags the tests need. An existing policy-rc.d (Docker images ship one) is left alone.
ensure_server_packages() {
    if [[ -e $POLICY_RC_D ]] || [[ -z $(missing_packages "$@") ]]; then
        ensure_packages "$@"
        return
    fi
    ((EUID == 0)) || die "packages $* are missing; run as root to install them"
    printf '#!/bin/sh\n# Written by services.sh during a package install.\nexit 101\n' >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
    trap 'rm -f "$POLICY_RC_D"' EXIT # also when the install fails and set -e ends the script
    ensure_packages "$@"
    rm -f "$POLICY_RC_D"
    trap - EXIT
}

# --- PostgreSQL ----------------------------------------------------------------------

pg_version() {
    local version
    version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1) || true
    [[ -n $version ]] || die "no PostgreSQL cluster under /etc/postgresql"
    printf '%s\n' "$version"
}

pg_answers() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

pg_login() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1'; }

start_postgres() {
    ensure_packages postgresql
    local version
    version=$(pg_version)
    if pg_answers; then
        log "PostgreSQL $version: already answering on 127.0.0.1:$PG_PORT"
    else
        if ! pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
            log "PostgreSQL $version: starting cluster main"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start
        fi
        wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" pg_answers
    fi
    pg_allow_local_trust "$version"
}

# A fresh Debian cluster asks TCP clients for a password; the tests log in without one.
pg_allow_local_trust() {
    local version=$1 hba
    pg_login >/dev/null 2>&1 && return 0
    hba=/etc/postgresql/$version/main/pg_hba.conf
    log "PostgreSQL $version: trusting local TCP logins in $hba"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    wait_for "PostgreSQL login as postgres" pg_login
}

# --- MariaDB -------------------------------------------------------------------------

mariadb_answers() {
    # Succeeds as soon as the server answers, even if it refuses the login.
    mysqladmin --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" -u root --connect-timeout=2 ping
}

mariadb_login() {
    mysql --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" -u root --connect-timeout=2 -e 'SELECT 1'
}

start_mariadb() {
    ensure_packages mariadb-server
    if mariadb_answers >/dev/null 2>&1; then
        log "MariaDB: already answering on 127.0.0.1:$MYSQL_PORT"
    else
        # The socket and pid directory lives on a tmpfs that a fresh container lacks.
        install -d -o mysql -g mysql /run/mysqld
        log "MariaDB: starting mariadbd"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
        wait_for "MariaDB on 127.0.0.1:$MYSQL_PORT" mariadb_answers
    fi
    mariadb_allow_root_tcp
}

# A fresh Debian MariaDB lets root in through the unix socket only; the tests use TCP.
mariadb_allow_root_tcp() {
    mariadb_login >/dev/null 2>&1 && return 0
    log "MariaDB: allowing password-less TCP logins as root from 127.0.0.1"
    mysql -u root -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
    wait_for "MariaDB login as root" mariadb_login
}

# --- Redis ---------------------------------------------------------------------------

redis_answers() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1) == PONG ]]; }

start_redis() {
    if redis_answers >/dev/null 2>&1; then
        log "Redis: already answering on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    ensure_server_packages redis-server redis-tools
    mkdir -p /var/lib/redis /var/log/redis
    log "Redis: starting redis-server"
    # No snapshots, no append-only file: test data need not survive a restart.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for "Redis on 127.0.0.1:$REDIS_PORT" redis_answers
}

# --- etcd ----------------------------------------------------------------------------

# A range request on the v3 JSON gateway (etcd 3.4 serves it under /v3/): proves the key
# value API works, which is what the tests use, not just that the port is open.
etcd_answers() {
    curl -sf --max-time 2 -X POST "http://127.0.0.1:$ETCD_PORT/v3/kv/range" -d '{"key":"AA=="}'
}

# etcd refuses to start on an architecture it does not support officially (only amd64 in
# 3.4) unless ETCD_UNSUPPORTED_ARCH names the Go architecture it runs on.
etcd_unsupported_arch() {
    case $(dpkg --print-architecture) in
        amd64) ;;
        arm64) printf 'arm64\n' ;;
        armhf | armel) printf 'arm\n' ;;
        i386) printf '386\n' ;;
        ppc64el) printf 'ppc64le\n' ;;
        *) dpkg --print-architecture ;;
    esac
}

start_etcd() {
    if etcd_answers >/dev/null 2>&1; then
        log "etcd: already answering on 127.0.0.1:$ETCD_PORT"
        return 0
    fi
    ensure_server_packages etcd-server curl
    local arch
    arch=$(etcd_unsupported_arch)
    install -d -o etcd -g etcd -m 700 "$ETCD_DATA_DIR"
    touch "$ETCD_LOG"
    chown etcd:etcd "$ETCD_LOG"
    log "etcd: starting a one-member cluster (data in $ETCD_DATA_DIR, log in $ETCD_LOG)"
    # The pid file ties --oknodo to this etcd, not to any other etcd on the machine.
    ETCD_UNSUPPORTED_ARCH=$arch start-stop-daemon --start --oknodo --background \
        --make-pidfile --pidfile "$ETCD_PIDFILE" --chuid etcd:etcd --output "$ETCD_LOG" \
        --exec /usr/bin/etcd -- \
        --name tenantdb-ci \
        --data-dir "$ETCD_DATA_DIR" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "tenantdb-ci=http://127.0.0.1:$ETCD_PEER_PORT"
    wait_for "etcd on 127.0.0.1:$ETCD_PORT" etcd_answers
}

main() {
    start_postgres
    start_mariadb
    start_redis
    start_etcd
    log "all services ready"
}

main "$@"
