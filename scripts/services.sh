#!/usr/bin/env bash
# Make sure the database servers of the integration tests run on this machine:
#   PostgreSQL  127.0.0.1:5432  user postgres, no password (trust)
#   PostgreSQL  127.0.0.1:5433  streaming replica (hot standby) of 5432: Debian cluster
#                               <version>/replica, user postgres, no password (trust)
#   MariaDB     127.0.0.1:3306  user root, no password; binary log on, server_id 1
#   MariaDB     127.0.0.1:3307  GTID replica of 3306 (server_id 2, its own mariadbd with
#                               datadir /var/lib/mysql-replica), user root, no password
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
# The MariaDB replica is a second mariadbd that reads only /etc/mysql/tenantdb-replica.cnf.
# For it the primary gets, when missing: a binary log and server_id 1 (a file in
# /etc/mysql/mariadb.conf.d/, then one restart of the primary: log_bin cannot be turned on
# at run time) and a password-less replication account tenantdb_repl@127.0.0.1. The
# replica is seeded with mariadb-dump --all-databases --master-data --gtid of the primary
# (accounts included) and replicates with CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos.
# One that answers, replicates from 3306 with GTIDs and catches up is left alone, except
# that replication threads a killed test left stopped are started; one that cannot start,
# reports a replication error, or cannot catch up (its binary logs are gone) is removed
# and built again, as is one whose configuration file changed.
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
MYSQL_REPLICA_PORT=3307
MYSQL_REPLICA_DATADIR=/var/lib/mysql-replica
MYSQL_REPLICA_RUNDIR=/run/mysqld-replica
MYSQL_REPLICA_CNF=/etc/mysql/tenantdb-replica.cnf
MYSQL_REPLICA_LOG=/var/log/mysql/replica-error.log
MYSQL_REPL_USER=tenantdb_repl
# The primary's binary log settings go in a directory Debian's my.cnf includes.
MYSQL_CONF_DIR=/etc/mysql/mariadb.conf.d
MYSQL_BINLOG_CNF=$MYSQL_CONF_DIR/60-tenantdb-binlog.cnf
# Binary logs are kept this long, so that a replica stopped for a while can catch up (like
# wal_keep_size); one stopped longer cannot, and is rebuilt.
MYSQL_BINLOG_KEEP_S=${MYSQL_BINLOG_KEEP_S:-86400}
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

# mariadb_answers [PORT]: the server on 127.0.0.1:PORT answers, even if it refuses the login.
mariadb_answers() {
    mysqladmin --protocol=tcp -h 127.0.0.1 -P "${1:-$MYSQL_PORT}" -u root --connect-timeout=2 ping
}

# mariadb_query PORT SQL: run SQL as root over TCP, print bare values (tab-separated).
mariadb_query() {
    mysql --protocol=tcp -h 127.0.0.1 -P "$1" -u root --connect-timeout=2 -NBe "$2"
}

# mariadb_login [PORT]: logging in as root over TCP without a password works.
mariadb_login() { mariadb_query "${1:-$MYSQL_PORT}" 'SELECT 1'; }

# The primary is started as Debian's package would (its my.cnf); pid and socket live in a
# tmpfs directory that a fresh container lacks.
mariadb_start_primary() {
    install -d -o mysql -g mysql /run/mysqld
    log "MariaDB: starting mariadbd"
    # The pid file (my.cnf's pid-file) ties --oknodo to the primary: the replica's mariadbd
    # runs the same binary.
    start-stop-daemon --start --oknodo --background --pidfile /run/mysqld/mysqld.pid \
        --exec /usr/sbin/mariadbd -- --user=mysql
    wait_for "MariaDB on 127.0.0.1:$MYSQL_PORT" mariadb_answers "$MYSQL_PORT"
}

start_mariadb() {
    ensure_packages mariadb-server
    if mariadb_answers >/dev/null 2>&1; then
        log "MariaDB: already answering on 127.0.0.1:$MYSQL_PORT"
    else
        mariadb_start_primary
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

# --- MariaDB replica -----------------------------------------------------------------

# write_if_changed FILE: write stdin to FILE unless FILE already holds exactly that;
# succeed when it changed the file.
write_if_changed() {
    local content
    content=$(cat)
    if [[ -f $1 ]] && [[ $(cat "$1") == "$content" ]]; then
        return 1
    fi
    printf '%s\n' "$content" >"$1"
}

# The primary needs a binary log (MariaDB always writes GTIDs into it) and server_id 1.
# With a binary log MariaDB refuses CREATE FUNCTION without a DETERMINISTIC / NO SQL / READS
# SQL DATA declaration (error 1418) unless log_bin_trust_function_creators is on: tests
# create such functions, as applications do.
mariadb_binlog_cnf() {
    printf '# Written by tenantdb scripts/services.sh: primary of the replica on port %s\n' \
        "$MYSQL_REPLICA_PORT"
    printf '[mysqld]\nserver_id = 1\nlog_bin = mariadb-bin\nbinlog_expire_logs_seconds = %s\n' \
        "$MYSQL_BINLOG_KEEP_S"
    printf 'log_bin_trust_function_creators = 1\n'
}

mariadb_primary_logs() {
    [[ $(mariadb_query "$MYSQL_PORT" 'SELECT @@log_bin, @@server_id') == $'1\t1' ]]
}

mariadb_primary_stopped() {
    ! start-stop-daemon --status --pidfile /run/mysqld/mysqld.pid --exec /usr/sbin/mariadbd &&
        ! mariadb_answers "$MYSQL_PORT"
}

# Turn the primary's binary log on: a configuration file, then a restart (log_bin cannot be
# changed at run time). A primary that already logs with server_id 1 is not touched. Then
# the replication account, when missing.
mariadb_prepare_primary() {
    if ! mariadb_primary_logs; then
        install -d "$MYSQL_CONF_DIR"
        # Debian's my.cnf includes this directory; a hand-written one may not.
        if ! grep -qE "^[[:space:]]*!includedir[[:space:]]+$MYSQL_CONF_DIR/?[[:space:]]*$" \
            /etc/mysql/my.cnf; then
            log "MariaDB: including $MYSQL_CONF_DIR/ from /etc/mysql/my.cnf"
            printf '\n!includedir %s/\n' "$MYSQL_CONF_DIR" >>/etc/mysql/my.cnf
        fi
        mariadb_binlog_cnf | write_if_changed "$MYSQL_BINLOG_CNF" || true
        log "MariaDB: restarting the primary to turn its binary log on ($MYSQL_BINLOG_CNF)"
        mysqladmin --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" -u root shutdown
        wait_for "MariaDB primary stopped" mariadb_primary_stopped
        mariadb_start_primary
        wait_for "MariaDB login as root" mariadb_login "$MYSQL_PORT"
        mariadb_primary_logs ||
            die "MariaDB: no binary log with server_id 1 after a restart; see $MYSQL_BINLOG_CNF"
    fi
    # Written to the file too (for the next restart); a dynamic setting, so no restart now.
    mariadb_binlog_cnf | write_if_changed "$MYSQL_BINLOG_CNF" || true
    if [[ $(mariadb_query "$MYSQL_PORT" 'SELECT @@log_bin_trust_function_creators') != 1 ]]; then
        log "MariaDB: log_bin_trust_function_creators on (functions without declarations)"
        mariadb_query "$MYSQL_PORT" 'SET GLOBAL log_bin_trust_function_creators = 1'
    fi
    local count
    count=$(mariadb_query "$MYSQL_PORT" "SELECT count(*) FROM mysql.user
        WHERE user = '$MYSQL_REPL_USER' AND host = '127.0.0.1'")
    if ((count == 0)); then
        log "MariaDB: creating replication account $MYSQL_REPL_USER@127.0.0.1 on the primary"
        mariadb_query "$MYSQL_PORT" "CREATE USER '$MYSQL_REPL_USER'@'127.0.0.1';
            GRANT REPLICATION SLAVE ON *.* TO '$MYSQL_REPL_USER'@'127.0.0.1'"
    fi
}

# The replica's whole configuration: its mariadbd reads only this file (--defaults-file),
# never the primary's my.cnf. Character set and collation follow the primary's.
mariadb_replica_cnf() {
    local charset collation
    charset=$(mariadb_query "$MYSQL_PORT" 'SELECT @@character_set_server')
    collation=$(mariadb_query "$MYSQL_PORT" 'SELECT @@collation_server')
    printf '%s\n' \
        "# Written by tenantdb scripts/services.sh: GTID replica of 127.0.0.1:$MYSQL_PORT" \
        '[mysqld]' \
        'user = mysql' \
        "datadir = $MYSQL_REPLICA_DATADIR" \
        "socket = $MYSQL_REPLICA_RUNDIR/mysqld.sock" \
        "pid-file = $MYSQL_REPLICA_RUNDIR/mysqld.pid" \
        "port = $MYSQL_REPLICA_PORT" \
        'bind-address = 127.0.0.1' \
        'skip-name-resolve' \
        "log-error = $MYSQL_REPLICA_LOG" \
        "character-set-server = $charset" \
        "collation-server = $collation" \
        'server_id = 2' \
        'log_bin = mariadb-bin' \
        "binlog_expire_logs_seconds = $MYSQL_BINLOG_KEEP_S" \
        'log_bin_trust_function_creators = 1' \
        'relay_log = relay-bin' \
        '# Writes belong on the primary (root, with READ_ONLY ADMIN, can still write).' \
        'read_only = ON' \
        'innodb_buffer_pool_size = 64M' \
        'performance_schema = OFF'
}

# mariadb_replica_local SQL: run SQL as root through the replica's unix socket (its TCP
# login exists only once the primary's accounts are loaded into it).
mariadb_replica_local() {
    mysql --socket="$MYSQL_REPLICA_RUNDIR/mysqld.sock" -u root --connect-timeout=2 -NBe "$1"
}

mariadb_replica_process_runs() {
    start-stop-daemon --status --pidfile "$MYSQL_REPLICA_RUNDIR/mysqld.pid" \
        --exec /usr/sbin/mariadbd
}

mariadb_replica_start() {
    install -d -o mysql -g mysql "$MYSQL_REPLICA_RUNDIR"
    log "MariaDB replica: starting mariadbd on 127.0.0.1:$MYSQL_REPLICA_PORT"
    # The pid file ties --oknodo to this server, not to the primary's mariadbd.
    start-stop-daemon --start --oknodo --background \
        --pidfile "$MYSQL_REPLICA_RUNDIR/mysqld.pid" --exec /usr/sbin/mariadbd -- \
        --defaults-file="$MYSQL_REPLICA_CNF"
}

mariadb_replica_stop() {
    start-stop-daemon --stop --oknodo --quiet --retry TERM/60/KILL/5 \
        --pidfile "$MYSQL_REPLICA_RUNDIR/mysqld.pid" --exec /usr/sbin/mariadbd
}

# mariadb_replica_status FIELD...: those fields of SHOW SLAVE STATUS on the replica, one a
# line (empty lines when it is not a replica). Read from the vertical format: in the
# tab-separated one, bash's read would merge the empty fields.
mariadb_replica_status() {
    local status field
    status=$(mysql --protocol=tcp -h 127.0.0.1 -P "$MYSQL_REPLICA_PORT" -u root \
        --connect-timeout=2 -E -e 'SHOW SLAVE STATUS' 2>/dev/null) || true
    for field in "$@"; do
        awk -v name="$field" '
            { sub(/^ +/, "") }
            index($0, name ":") == 1 { value = substr($0, length(name) + 2); sub(/^ /, "", value) }
            END { print value }' <<<"$status"
    done
}

mariadb_replica_threads_run() {
    [[ $(mariadb_replica_status Slave_IO_Running Slave_SQL_Running | paste -sd ' ') == 'Yes Yes' ]]
}

# The replica has applied every transaction the primary had logged when this was called
# (MASTER_GTID_WAIT: 0 when reached, -1 after the timeout).
mariadb_replica_caught_up() {
    local target
    target=$(mariadb_query "$MYSQL_PORT" 'SELECT @@gtid_binlog_pos')
    [[ $(mariadb_query "$MYSQL_REPLICA_PORT" \
        "SELECT MASTER_GTID_WAIT('$target', $WAIT_S)") == 0 ]]
}

mariadb_replica_errors() {
    mariadb_replica_status Last_IO_Error Last_SQL_Error | paste -sd ' '
}

# mariadb_replica_healthy: start the existing replica if it is down; succeed if it then
# replicates from the primary with GTIDs and has caught up (threads that a killed test run
# stopped without an error are started again), fail if it is broken.
mariadb_replica_healthy() {
    if ! mariadb_replica_process_runs; then
        if mariadb_answers "$MYSQL_REPLICA_PORT" >/dev/null 2>&1; then
            die "127.0.0.1:$MYSQL_REPLICA_PORT answers, but not as the replica of $MYSQL_REPLICA_CNF"
        fi
        mariadb_replica_start || return 1
    fi
    if ! poll_until "$WAIT_S" mariadb_login "$MYSQL_REPLICA_PORT"; then
        log "MariaDB replica: no login on 127.0.0.1:$MYSQL_REPLICA_PORT after ${WAIT_S}s"
        return 1
    fi
    local host port gtid io sql io_errno sql_errno
    {
        read -r host
        read -r port
        read -r gtid
        read -r io
        read -r sql
        read -r io_errno
        read -r sql_errno
    } < <(mariadb_replica_status Master_Host Master_Port Using_Gtid Slave_IO_Running \
        Slave_SQL_Running Last_IO_Errno Last_SQL_Errno)
    if [[ $host != 127.0.0.1 || $port != "$MYSQL_PORT" || $gtid != Slave_Pos ]]; then
        log "MariaDB replica: not a GTID replica of 127.0.0.1:$MYSQL_PORT" \
            "(master ${host:-none}:${port:-none}, Using_Gtid ${gtid:-none})"
        return 1
    fi
    if [[ ${io_errno:-0} != 0 || ${sql_errno:-0} != 0 ]]; then
        log "MariaDB replica: replication failed: $(mariadb_replica_errors)"
        return 1
    fi
    # A test run killed after STOP SLAVE SQL_THREAD would leave the replica behind for good.
    if [[ $io != Yes || $sql != Yes ]]; then
        log "MariaDB replica: replication threads were stopped (IO $io, SQL $sql); starting them"
        mariadb_query "$MYSQL_REPLICA_PORT" 'START SLAVE' >/dev/null
    fi
    if ! poll_until "$WAIT_S" mariadb_replica_threads_run || ! mariadb_replica_caught_up; then
        log "MariaDB replica: does not catch up with 127.0.0.1:$MYSQL_PORT after ${WAIT_S}s" \
            "(${MYSQL_REPLICA_LOG}; $(mariadb_replica_errors))"
        return 1
    fi
}

# mariadb_replica_build: a fresh data directory seeded with a dump of the whole primary,
# accounts included (so replicated account changes apply), taken under a global read lock
# (--lock-all-tables: databases that other test runs create or drop meanwhile cannot slip
# between the dump and its GTID position; writes wait for the dump, a few seconds); then
# replication from that position.
mariadb_replica_build() {
    local dump gtid
    if mariadb_answers "$MYSQL_REPLICA_PORT" >/dev/null 2>&1; then
        die "127.0.0.1:$MYSQL_REPLICA_PORT answers, but not as the replica of $MYSQL_REPLICA_CNF"
    fi
    log "MariaDB replica: creating $MYSQL_REPLICA_DATADIR"
    rm -rf "$MYSQL_REPLICA_DATADIR"
    install -d -o mysql -g mysql -m 750 "$MYSQL_REPLICA_DATADIR"
    install -d -o mysql -g adm "$(dirname "$MYSQL_REPLICA_LOG")"
    mariadb-install-db --defaults-file="$MYSQL_REPLICA_CNF" --user=mysql --skip-test-db \
        --auth-root-authentication-method=socket >/dev/null
    mariadb_replica_start
    wait_for "MariaDB replica socket login" mariadb_replica_local 'SELECT 1'
    dump=$(mktemp /tmp/tenantdb-replica-seed.XXXXXX)
    log "MariaDB replica: dumping 127.0.0.1:$MYSQL_PORT (under a global read lock)"
    if ! mariadb-dump --protocol=tcp -h 127.0.0.1 -P "$MYSQL_PORT" -u root --all-databases \
        --lock-all-tables --master-data=2 --gtid --routines --events --triggers \
        --flush-privileges --hex-blob >"$dump"; then
        rm -f "$dump"
        die "MariaDB replica: mariadb-dump of the primary failed"
    fi
    if ! grep -q "^-- SET GLOBAL gtid_slave_pos=" "$dump"; then
        rm -f "$dump"
        die "MariaDB replica: the dump carries no GTID position (mariadb-dump --gtid)"
    fi
    gtid=$(sed -n "s/^-- SET GLOBAL gtid_slave_pos='\([0-9,-]*\)';$/\1/p" "$dump" | head -n 1)
    log "MariaDB replica: loading the dump (GTID position '$gtid')"
    # Not into the replica's own binary log: that holds only what the replica does itself.
    if ! mysql --socket="$MYSQL_REPLICA_RUNDIR/mysqld.sock" -u root \
        --init-command='SET sql_log_bin = 0' <"$dump"; then
        rm -f "$dump"
        die "MariaDB replica: loading the dump failed"
    fi
    rm -f "$dump"
    wait_for "MariaDB replica login as root" mariadb_login "$MYSQL_REPLICA_PORT"
    mariadb_query "$MYSQL_REPLICA_PORT" "SET GLOBAL gtid_slave_pos = '$gtid';
        CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $MYSQL_PORT,
            MASTER_USER = '$MYSQL_REPL_USER', MASTER_PASSWORD = '',
            MASTER_CONNECT_RETRY = 1, MASTER_USE_GTID = slave_pos;
        START SLAVE"
}

start_mariadb_replica() {
    mariadb_prepare_primary
    local written=0
    mariadb_replica_cnf | write_if_changed "$MYSQL_REPLICA_CNF" && written=1
    if ((written)); then
        log "MariaDB replica: wrote $MYSQL_REPLICA_CNF; building the replica"
    elif [[ -d $MYSQL_REPLICA_DATADIR/mysql ]]; then
        if mariadb_replica_healthy; then
            log "MariaDB replica: 127.0.0.1:$MYSQL_REPLICA_PORT replicates from" \
                "$MYSQL_PORT with GTIDs and has caught up"
            return 0
        fi
        log "MariaDB replica: dropping the broken replica to build it again"
    fi
    mariadb_replica_stop
    mariadb_replica_build
    wait_for "MariaDB replica replicating from 127.0.0.1:$MYSQL_PORT" mariadb_replica_threads_run
    wait_for "MariaDB replica caught up with 127.0.0.1:$MYSQL_PORT" mariadb_replica_caught_up
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
    start_mariadb_replica
    start_redis
    start_etcd
    ensure_chromium
    log "all services ready"
}

main "$@"
