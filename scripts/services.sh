#!/usr/bin/env bash
# Make sure the database servers of the integration tests run on this machine:
#   PostgreSQL  127.0.0.1:5432  user postgres, no password (trust)
#   PostgreSQL  127.0.0.1:5433  streaming replica (hot standby) of 5432: Debian cluster
#                               <version>/replica, user postgres, no password (trust)
#   MariaDB     127.0.0.1:3306  user root, no password
#   Redis       127.0.0.1:6379  no password, nothing saved to disk
#   etcd        127.0.0.1:2379  plain HTTP, no auth (Debian's etcd-server 3.4, v3 API)
#   Chromium    /usr/bin/chromium, Debian's package: the console's browser tests drive it
#               through Playwright (never a browser Playwright downloads itself)
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
# The replica is built with Debian's tools (pg_createcluster, then pg_basebackup from 5432,
# without a replication slot) and started with pg_ctlcluster. For it the primary gets, when
# missing: trusted loopback replication logins in its pg_hba.conf (then a reload),
# wal_level=replica and max_wal_senders>0 (then a restart; the defaults already are), and
# wal_keep_size >= PG_WAL_KEEP_MB (default 256) so that a replica stopped for a while can
# catch up. A replica that answers as a standby and streams is left alone, except that WAL
# replay is resumed if a killed test left it paused; one that cannot start, is no longer a
# standby, or cannot stream (the WAL it needs is gone) is dropped and built again.
#
# Each service is a pair of functions (start_<service>, plus checks), so more can be added
# by writing another pair and calling it from main.
set -euo pipefail

PG_PORT=5432
PG_CLUSTER=main
PG_REPLICA_PORT=5433
PG_REPLICA_CLUSTER=replica
PG_WAL_KEEP_MB=${PG_WAL_KEEP_MB:-256}
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

# poll_until SECONDS COMMAND...: run COMMAND (output discarded) every half second until it
# succeeds; return 1 if it still fails after SECONDS seconds.
poll_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.5
    done
}

# wait_for DESCRIPTION COMMAND...: run COMMAND until it succeeds, or fail after WAIT_S seconds.
wait_for() {
    local what=$1
    shift
    if ! poll_until "$WAIT_S" "$@"; then
        die "$what: not ready after ${WAIT_S}s (raise SERVICES_WAIT_S, or see the server log)"
    fi
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

# pg_cluster_running VERSION CLUSTER: the postmaster of Debian cluster VERSION/CLUSTER runs.
pg_cluster_running() {
    pg_ctlcluster --skip-systemctl-redirect "$1" "$2" status >/dev/null 2>&1
}

# pg_answers PORT: the server on 127.0.0.1:PORT accepts connections.
pg_answers() { pg_isready -q -h 127.0.0.1 -p "$1"; }

# pg_query PORT SQL: run one statement as postgres on database postgres, print bare values.
# -w: never ask for a password (a prompt would hang wait_for).
pg_query() { psql -X -w -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc "$2"; }

# pg_login PORT: logging in as postgres without a password works.
pg_login() { pg_query "$1" 'SELECT 1'; }

start_postgres() {
    ensure_packages postgresql
    local version
    version=$(pg_version)
    if pg_answers "$PG_PORT"; then
        log "PostgreSQL $version: already answering on 127.0.0.1:$PG_PORT"
    else
        if ! pg_cluster_running "$version" "$PG_CLUSTER"; then
            log "PostgreSQL $version: starting cluster $PG_CLUSTER"
            pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" start
        fi
        wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" pg_answers "$PG_PORT"
    fi
    pg_allow_local_trust "$version"
}

# A fresh Debian cluster asks TCP clients for a password; the tests log in without one.
pg_allow_local_trust() {
    local version=$1 hba
    pg_login "$PG_PORT" >/dev/null 2>&1 && return 0
    hba=/etc/postgresql/$version/$PG_CLUSTER/pg_hba.conf
    log "PostgreSQL $version: trusting local TCP logins in $hba"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" reload
    wait_for "PostgreSQL login as postgres" pg_login "$PG_PORT"
}

# --- PostgreSQL streaming replica ----------------------------------------------------

# pg_setting NAME: the primary's current value of setting NAME (in its base unit).
pg_setting() { pg_query "$PG_PORT" "SELECT setting FROM pg_settings WHERE name = '$1'"; }

# A physical replication connection, which pg_hba.conf matches as database "replication"
# (not "all"), as pg_basebackup and the replica's WAL receiver open it.
pg_replication_login() {
    psql -X -w "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres replication=true" \
        -Atqc IDENTIFY_SYSTEM
}

# What the primary needs to feed a replica. Debian's defaults (wal_level=replica,
# max_wal_senders=10) need no restart; wal_keep_size only a reload.
pg_prepare_primary() {
    local version=$1 restart=0 hba
    if [[ $(pg_setting wal_level) == minimal ]]; then
        log "PostgreSQL $version: setting wal_level = replica on the primary"
        pg_query "$PG_PORT" "ALTER SYSTEM SET wal_level = 'replica'" >/dev/null
        restart=1
    fi
    if (($(pg_setting max_wal_senders) == 0)); then
        log "PostgreSQL $version: setting max_wal_senders = 10 on the primary"
        pg_query "$PG_PORT" 'ALTER SYSTEM SET max_wal_senders = 10' >/dev/null
        restart=1
    fi
    # Without a replication slot (which would keep WAL for a replica that is gone until the
    # disk fills), the primary keeps this much WAL for a replica that was stopped a while.
    if (($(pg_setting wal_keep_size) < PG_WAL_KEEP_MB)); then
        log "PostgreSQL $version: setting wal_keep_size = ${PG_WAL_KEEP_MB}MB on the primary"
        pg_query "$PG_PORT" "ALTER SYSTEM SET wal_keep_size = '${PG_WAL_KEEP_MB}MB'" >/dev/null
        ((restart)) || pg_query "$PG_PORT" 'SELECT pg_reload_conf()' >/dev/null
    fi
    if ((restart)); then
        log "PostgreSQL $version: restarting cluster $PG_CLUSTER for the WAL settings"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" restart
        wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" pg_login "$PG_PORT"
    fi
    pg_replication_login >/dev/null 2>&1 && return 0
    hba=/etc/postgresql/$version/$PG_CLUSTER/pg_hba.conf
    if ! grep -qxF 'host replication all 127.0.0.1/32 trust' "$hba"; then
        # First lines, ahead of Debian's "host replication all … scram-sha-256".
        log "PostgreSQL $version: trusting local replication connections in $hba"
        sed -i '1i host replication all 127.0.0.1/32 trust\nhost replication all ::1/128 trust' \
            "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_CLUSTER" reload
    fi
    wait_for "PostgreSQL replication login as postgres" pg_replication_login
}

pg_replica_exists() { [[ -d /etc/postgresql/$1/$PG_REPLICA_CLUSTER ]]; }

pg_replica_in_recovery() { [[ $(pg_query "$PG_REPLICA_PORT" 'SELECT pg_is_in_recovery()') == t ]]; }

# The primary has a WAL sender for the replica in state "streaming", i.e. it has sent all
# the WAL there is. A replica whose WAL the primary no longer has never gets there: its WAL
# receiver is refused and retries every 5 s. The receiver names itself after the replica's
# cluster_name, which Debian sets to <version>/<cluster>.
pg_replica_streaming() {
    local count
    count=$(pg_query "$PG_PORT" "SELECT count(*) FROM pg_stat_replication
        WHERE application_name = '$1/$PG_REPLICA_CLUSTER' AND state = 'streaming'")
    ((count >= 1))
}

# A test run killed while it had paused replay would leave the replica behind for good.
pg_replica_resume_replay() {
    if [[ $(pg_query "$PG_REPLICA_PORT" 'SELECT pg_is_wal_replay_paused()') == t ]]; then
        log "PostgreSQL replica: WAL replay was paused; resuming it"
        pg_query "$PG_REPLICA_PORT" 'SELECT pg_wal_replay_resume()' >/dev/null
    fi
}

# pg_replica_healthy VERSION: start the existing replica cluster if it is down; succeed if it
# is then a standby that streams from the primary (replay resumed), fail if it is broken.
pg_replica_healthy() {
    local version=$1
    if ! pg_cluster_running "$version" "$PG_REPLICA_CLUSTER"; then
        log "PostgreSQL $version: starting cluster $PG_REPLICA_CLUSTER"
        if ! pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_REPLICA_CLUSTER" start; then
            log "PostgreSQL $version: cluster $PG_REPLICA_CLUSTER does not start"
            return 1
        fi
    fi
    if ! poll_until "$WAIT_S" pg_login "$PG_REPLICA_PORT"; then
        log "PostgreSQL $version: no login on 127.0.0.1:$PG_REPLICA_PORT after ${WAIT_S}s"
        return 1
    fi
    if ! pg_replica_in_recovery; then
        log "PostgreSQL $version: 127.0.0.1:$PG_REPLICA_PORT is not a standby (promoted?)"
        return 1
    fi
    pg_replica_resume_replay
    if ! poll_until "$WAIT_S" pg_replica_streaming "$version"; then
        log "PostgreSQL $version: cluster $PG_REPLICA_CLUSTER does not stream from" \
            "127.0.0.1:$PG_PORT after ${WAIT_S}s (the WAL it needs may be gone)"
        return 1
    fi
}

# pg_replica_build VERSION: create the replica cluster, fill its data directory with a base
# backup of the primary (-R: standby.signal and primary_conninfo), start it.
pg_replica_build() {
    local version=$1 datadir conf name
    datadir=/var/lib/postgresql/$version/$PG_REPLICA_CLUSTER
    conf=/etc/postgresql/$version/$PG_REPLICA_CLUSTER
    if pg_answers "$PG_REPLICA_PORT"; then
        die "127.0.0.1:$PG_REPLICA_PORT answers, but not as cluster $version/$PG_REPLICA_CLUSTER"
    fi
    if [[ -e $datadir ]]; then
        # pg_createcluster would adopt a leftover data directory instead of creating one.
        log "PostgreSQL $version: removing leftover $datadir"
        rm -rf "$datadir"
    fi
    log "PostgreSQL $version: creating cluster $PG_REPLICA_CLUSTER on port $PG_REPLICA_PORT"
    pg_createcluster "$version" "$PG_REPLICA_CLUSTER" -p "$PG_REPLICA_PORT" -d "$datadir" >/dev/null
    # Appended: the last value of a setting wins. A hot standby refuses to start with lower
    # max_* values than its primary's, so it gets the primary's.
    {
        printf '\n# Added by tenantdb scripts/services.sh: hot standby of 127.0.0.1:%s\n' "$PG_PORT"
        printf "listen_addresses = '127.0.0.1'\nhot_standby = on\n"
        for name in max_connections max_worker_processes max_wal_senders \
            max_prepared_transactions max_locks_per_transaction; do
            printf '%s = %s\n' "$name" "$(pg_setting "$name")"
        done
    } >>"$conf/postgresql.conf"
    # First lines, ahead of Debian's "host all all … scram-sha-256".
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$conf/pg_hba.conf"
    log "PostgreSQL $version: copying the primary into $datadir (pg_basebackup)"
    rm -rf "$datadir"
    install -d -o postgres -g postgres -m 700 "$datadir"
    # --checkpoint=fast: the default spread checkpoint can take minutes.
    (cd / && runuser -u postgres -- "/usr/lib/postgresql/$version/bin/pg_basebackup" \
        -h 127.0.0.1 -p "$PG_PORT" -U postgres -w -D "$datadir" -R -X stream --checkpoint=fast)
    log "PostgreSQL $version: starting cluster $PG_REPLICA_CLUSTER"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$PG_REPLICA_CLUSTER" start
}

start_postgres_replica() {
    local version
    version=$(pg_version)
    pg_prepare_primary "$version"
    if pg_replica_exists "$version"; then
        if pg_replica_healthy "$version"; then
            log "PostgreSQL $version: replica on 127.0.0.1:$PG_REPLICA_PORT streaming from $PG_PORT"
            return 0
        fi
        log "PostgreSQL $version: dropping broken cluster $PG_REPLICA_CLUSTER to build it again"
        pg_dropcluster --stop "$version" "$PG_REPLICA_CLUSTER"
    fi
    pg_replica_build "$version"
    wait_for "PostgreSQL replica login on 127.0.0.1:$PG_REPLICA_PORT" pg_login "$PG_REPLICA_PORT"
    wait_for "PostgreSQL replica in recovery" pg_replica_in_recovery
    wait_for "PostgreSQL replica streaming from 127.0.0.1:$PG_PORT" \
        pg_replica_streaming "$version"
    pg_replica_resume_replay
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

# The console's browser tests launch this binary; nothing runs until they do.
ensure_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        log "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
        return 0
    fi
    ensure_packages chromium
    [[ -x /usr/bin/chromium ]] || die "Chromium: /usr/bin/chromium missing after installing chromium"
    log "Chromium: installed"
}

main() {
    start_postgres
    start_postgres_replica
    start_mariadb
    start_redis
    start_etcd
    ensure_chromium
    log "all services ready"
}

main "$@"
