#!/usr/bin/env bash
# Make sure the database servers of the integration tests run on this machine:
#   PostgreSQL  127.0.0.1:5432  user postgres, no password (trust)
#   MariaDB     127.0.0.1:3306  user root, no password
# CI runs it (as root) before the tests, which it then runs with TENANTDB_REQUIRE_SERVICES=1.
#
# Idempotent: a server that answers is left alone; one that does not is started and waited
# for (up to SERVICES_WAIT_S seconds, default 60). On a fresh Debian machine it installs
# the missing packages (postgresql, mariadb-server) and allows the password-less local
# logins above; where those packages are installed and the logins work, it changes nothing.
#
# Each service is a pair of functions (start_<service>, plus checks), so more can be added
# (a PostgreSQL replica on 5433, etcd) by writing another pair and calling it from main.
set -euo pipefail

PG_PORT=5432
MYSQL_PORT=3306
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

# ensure_packages PACKAGE...: apt-get install those not installed yet (needs root).
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "packages ${missing[*]} are missing; run as root to install them"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
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

main() {
    start_postgres
    start_mariadb
    log "all services ready"
}

main "$@"
