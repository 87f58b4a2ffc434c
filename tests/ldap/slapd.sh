#!/usr/bin/env bash
# Throwaway OpenLDAP (slapd) for the LDAP login tests.
#
# Usage:
#   slapd.sh install              install Debian's slapd, ldap-utils, openssl if missing
#                                 (and make sure the distro's own slapd service is not running)
#   slapd.sh start  DIR           start a private slapd whose whole state lives in DIR,
#                                 print KEY=VALUE lines (also written to DIR/env)
#   slapd.sh stop   DIR           stop that slapd and wait until it has exited
#   slapd.sh modify DIR LDIF      apply LDIF (a file, or - for stdin) with ldapmodify as the rootdn
#
# Every instance is self-contained: its own slapd.conf, mdb data dir, pid file,
# throwaway CA + server certificate, and two free 127.0.0.1 ports (ldap:// with
# StartTLS, and ldaps://), so several instances can run side by side.
# `start` is idempotent: if the instance in DIR is already running it just prints
# its env again. A (re)start always reloads the seed data from seed.ldif.
#
# Output of `start` (stdout; diagnostics go to stderr), one KEY=VALUE per line,
# values unquoted and free of spaces/shell metacharacters so DIR/env can be
# parsed line by line or sourced by a shell:
#   LDAP_URL LDAPS_URL LDAP_PORT LDAPS_PORT LDAP_CA_FILE LDAP_BIND_DN
#   LDAP_BIND_PASSWORD LDAP_ADMIN_DN LDAP_ADMIN_PASSWORD LDAP_SUFFIX
#   LDAP_BASE_DN LDAP_GROUP_BASE_DN SLAPD_DIR SLAPD_PID
# The users, groups and their passwords are in seed.ldif next to this script.
#
# Knobs (environment): SLAPD_DEBUG (slapd -d level, default "none" = errors
# only, "stats" logs every operation to DIR/slapd.log), SLAPD_START_TIMEOUT and
# SLAPD_STOP_TIMEOUT (seconds, default 20).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SEED_LDIF="$SCRIPT_DIR/seed.ldif"

# --- fixed identity of the test directory -----------------------------------
SUFFIX="dc=example,dc=com"
ADMIN_DN="cn=admin,$SUFFIX"
ADMIN_PASSWORD="AdminSecret123"
SVC_DN="cn=svc,ou=services,$SUFFIX"
SVC_PASSWORD="SvcSecret123"          # must match cn=svc's userPassword in seed.ldif
PEOPLE_DN="ou=people,$SUFFIX"
GROUPS_DN="ou=groups,$SUFFIX"

# Debian installs the server tools in /usr/sbin, which is not always on PATH.
SLAPD=/usr/sbin/slapd
SLAPADD=/usr/sbin/slapadd
SLAPTEST=/usr/sbin/slaptest
SLAPPASSWD=/usr/sbin/slappasswd
SCHEMA_DIR=/etc/ldap/schema
MODULE_DIR=/usr/lib/ldap

START_TIMEOUT="${SLAPD_START_TIMEOUT:-20}"   # seconds to wait for slapd to answer
STOP_TIMEOUT="${SLAPD_STOP_TIMEOUT:-20}"     # seconds to wait for slapd to exit after SIGTERM

die() { echo "slapd.sh: error: $*" >&2; exit 1; }
log() { echo "slapd.sh: $*" >&2; }

usage() {
    sed -n '3,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ============================================================================
# install
# ============================================================================

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# The distro's own slapd (config in /etc/ldap/slapd.d, listening on ldap:/// =
# port 389 on all interfaces) is of no use to us and must not hold ports.
# Debian's init script honours a sentinel file: while /etc/ldap/noslapd exists
# it refuses to start slapd (also when run through systemd's sysv generator).
# Our private instances run slapd directly, so the sentinel does not affect them.
disable_distro_slapd() {
    mkdir -p /etc/ldap
    if [[ ! -e /etc/ldap/noslapd ]]; then
        log "creating /etc/ldap/noslapd so the distro slapd service never starts"
        : > /etc/ldap/noslapd
    fi
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now slapd >/dev/null 2>&1 || true
    fi
    # Stop it if a postinst (or anybody) started it anyway. Only the distro
    # instance's pid file is looked at, never our own instances.
    local pidfile pid
    for pidfile in /run/slapd/slapd.pid /var/run/slapd/slapd.pid; do
        [[ -s "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        if is_slapd_pid "$pid"; then
            log "stopping the distro slapd service (pid $pid)"
            if [[ -x /etc/init.d/slapd ]]; then
                /etc/init.d/slapd stop >&2 || true
            fi
            if is_slapd_pid "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
            wait_for_exit "$pid" "$STOP_TIMEOUT" || die "distro slapd (pid $pid) did not stop"
        fi
    done
}

cmd_install() {
    [[ $EUID -eq 0 ]] || die "install must run as root (it uses apt-get)"
    command -v apt-get >/dev/null || die "apt-get not found: this script expects Debian/Ubuntu"

    # Serialise concurrent installs (e.g. parallel test binaries): apt/dpkg
    # locks would otherwise make the second one fail.
    exec 8>/tmp/slapd-sh-install.lock
    flock -w 600 8 || die "timed out waiting for another 'slapd.sh install'"

    local missing=()
    pkg_installed slapd || missing+=(slapd)
    pkg_installed ldap-utils || missing+=(ldap-utils)
    pkg_installed openssl || missing+=(openssl)

    if ((${#missing[@]})); then
        # Create the sentinel before the postinst runs its "invoke-rc.d slapd start".
        disable_distro_slapd

        # Belt and braces: a policy-rc.d that answers 101 ("action forbidden")
        # stops invoke-rc.d from starting any service during the install. Many
        # container images already have one; only add (and later remove) ours
        # when there is none.
        local own_policy=0
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\n# temporary, created by tests/ldap/slapd.sh install\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            own_policy=1
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi

        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2 || die "apt-get update failed"
        apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=300 \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"

        if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
    else
        log "slapd, ldap-utils and openssl are already installed"
    fi

    # Always (also when nothing was installed): the distro service stays off.
    disable_distro_slapd

    local bin
    for bin in "$SLAPD" "$SLAPADD" "$SLAPTEST" "$SLAPPASSWD" ldapsearch ldapwhoami ldapmodify openssl; do
        command -v "$bin" >/dev/null || die "$bin still missing after install"
    done
    log "install OK ($("$SLAPD" -VV 2>&1 | head -n1 | sed 's/^@(#) \$//; s/\$$//' | xargs))"
}

# ============================================================================
# helpers shared by start/stop/modify
# ============================================================================

# True when PID is a live (non-zombie) process whose command is slapd. Checking
# the name avoids signalling an unrelated process that inherited a stale pid;
# checking the state matters because on this machine pid 1 may not reap
# orphans, and a zombie would otherwise look "still running" forever.
is_slapd_pid() {
    is_live_pid "$1" && [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == slapd ]]
}

# True when PID exists and is not a zombie (whatever its name).
is_live_pid() {
    local pid="$1" stat
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    # field 3 of /proc/PID/stat is the state; the command in field 2 is in parens
    stat="${stat##*) }"
    [[ "${stat%% *}" != Z ]]
}

# wait_for_exit PID SECONDS -> 0 once PID is gone, 1 on timeout
wait_for_exit() {
    local pid="$1" deadline=$((SECONDS + $2))
    while is_slapd_pid "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
    return 0
}

# Absolute path of DIR (which may not exist yet).
abs_dir() {
    mkdir -p "$1"
    (cd "$1" && pwd)
}

instance_pid() {   # prints the pid of DIR's slapd if it is running, else fails
    local dir="$1" pid
    [[ -s "$dir/slapd.pid" ]] || return 1
    pid="$(cat "$dir/slapd.pid")"
    is_slapd_pid "$pid" || return 1
    echo "$pid"
}

require_tools() {
    local bin
    for bin in "$SLAPD" "$SLAPADD" "$SLAPTEST" "$SLAPPASSWD" ldapsearch ldapwhoami ldapmodify openssl; do
        command -v "$bin" >/dev/null \
            || die "$bin not found; run '$0 install' first (needs root)"
    done
    [[ -r "$SCHEMA_DIR/inetorgperson.schema" ]] || die "$SCHEMA_DIR/inetorgperson.schema missing; is slapd installed?"
}

# A free TCP port on 127.0.0.1, chosen by the kernel (bind to port 0). There is
# a small window between closing this socket and slapd binding it; `start`
# retries with new ports if slapd fails with "Address already in use".
free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
    else
        # Fallback without python: random high port nobody is accepting on.
        local p
        while :; do
            p=$((20000 + RANDOM % 40000))
            if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
        done
    fi
}

# ldap* client tools must trust only our throwaway CA and must not pick up
# settings from ~/.ldaprc or the like that could change the outcome.
client_env() {
    local dir="$1"
    export LDAPTLS_CACERT="$dir/ca.pem" LDAPTLS_REQCERT=demand
    unset LDAPTLS_CACERTDIR LDAPURI LDAPBASE LDAPBINDDN LDAPRC LDAPCONF 2>/dev/null || true
}

# ============================================================================
# start
# ============================================================================

# Throwaway CA + server certificate for 127.0.0.1/localhost. Kept across
# restarts of the same DIR (so a client holding ca.pem keeps trusting it) unless
# a file is missing. RSA + proper v3 extensions so strict clients (rustls /
# webpki, GnuTLS) accept them: CA has CA:TRUE + keyCertSign, the leaf has
# CA:FALSE, serverAuth and SANs for 127.0.0.1 and localhost.
# The machine's hostname is in the SANs too because OpenLDAP's own client
# library (ldapsearch & co.) checks a "localhost" URL against the local
# hostname instead ("TLS: hostname (vm) does not match common name ...").
make_certs() {
    local dir="$1" san="DNS:localhost,IP:127.0.0.1" h
    if [[ -s "$dir/ca.pem" && -s "$dir/server.pem" && -s "$dir/server.key" ]]; then
        return 0
    fi
    for h in "$(hostname 2>/dev/null || true)" "$(hostname -f 2>/dev/null || true)"; do
        if [[ "$h" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ && "$h" != localhost && ",$san," != *",DNS:$h,"* ]]; then
            san="$san,DNS:$h"
        fi
    done
    log "generating throwaway CA and server certificate in $dir ($san)"
    # Inside a subshell on the left of || "set -e" is switched off, hence the
    # explicit "|| exit 1" after every step. openssl's chatter goes to a log
    # that is shown only on failure.
    (
        umask 077
        cd "$dir" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -keyout ca.key -out ca.pem -subj "/O=slapd.sh test/CN=slapd.sh throwaway CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" || exit 1
        openssl req -new -newkey rsa:2048 -nodes -sha256 \
            -keyout server.key -out server.csr -subj "/O=slapd.sh test/CN=localhost" || exit 1
        printf '%s\n' \
            "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=$san" \
            "subjectKeyIdentifier=hash" \
            "authorityKeyIdentifier=keyid,issuer" > server.ext || exit 1
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -sha256 -days 3650 -extfile server.ext -out server.pem || exit 1
        rm -f server.csr server.ext ca.srl
        # Certificates are public; tests read ca.pem. Keys stay 0600.
        chmod 644 ca.pem server.pem
    ) >"$dir/openssl.log" 2>&1 || {
        cat "$dir/openssl.log" >&2
        rm -f "$dir/ca.pem" "$dir/server.pem" "$dir/server.key"
        die "openssl failed to create certificates in $dir"
    }
}

write_config() {
    local dir="$1" rootpw_hash
    rootpw_hash="$("$SLAPPASSWD" -h '{SSHA}' -s "$ADMIN_PASSWORD")" || die "slappasswd failed"
    # Fresh, empty database directory on every (re)start: tests get known data.
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    cat > "$dir/slapd.conf" <<EOF
# Generated by tests/ldap/slapd.sh -- throwaway test instance, do not edit.
include   $SCHEMA_DIR/core.schema
include   $SCHEMA_DIR/cosine.schema
include   $SCHEMA_DIR/nis.schema
include   $SCHEMA_DIR/inetorgperson.schema

pidfile   $dir/slapd.pid
argsfile  $dir/slapd.args

# Debian builds the backends as loadable modules.
modulepath $MODULE_DIR
moduleload back_mdb

# TLS for both StartTLS on ldap:// and ldaps://. Clients are not asked for certs.
TLSCACertificateFile  $dir/ca.pem
TLSCertificateFile    $dir/server.pem
TLSCertificateKeyFile $dir/server.key

# Anything may read the root DSE and the schema (clients use them to discover
# StartTLS/controls); they hold no directory data.
access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read

database  mdb
maxsize   67108864
suffix    "$SUFFIX"
rootdn    "$ADMIN_DN"
rootpw    $rootpw_hash
directory $dir/data
index     objectClass eq
index     uid,cn,mail eq
index     member eq

# Passwords: nobody may read the hashes. Binding happens as anonymous (slapd
# demotes the connection to anonymous before checking a bind), so "anonymous
# auth" is what lets every user log in, also on a connection that was bound
# as the service account before (search-then-rebind login flow); the explicit
# svc "auth" documents that. Users may change their own password (=w).
access to attrs=userPassword
    by self =xw
    by anonymous auth
    by dn.exact="$SVC_DN" auth
    by * none

# Everything else: a user reads their own entry, the service account reads the
# whole tree (users, groups), anonymous gets nothing. The rootdn bypasses ACLs.
access to *
    by self read
    by dn.exact="$SVC_DN" read
    by * none
EOF
}

# Seed the database offline with slapadd, so slapd never answers with a
# half-loaded tree. Plaintext userPassword values from seed.ldif are replaced by
# {SSHA} hashes here.
load_seed() {
    local dir="$1" line hash
    [[ -r "$SEED_LDIF" ]] || die "seed data $SEED_LDIF not found"
    while IFS= read -r line || [[ -n "$line" ]]; do
        if [[ "$line" == "userPassword: "* ]]; then
            hash="$("$SLAPPASSWD" -h '{SSHA}' -s "${line#userPassword: }")" || die "slappasswd failed"
            printf 'userPassword: %s\n' "$hash"
        else
            printf '%s\n' "$line"
        fi
    done < "$SEED_LDIF" > "$dir/seed.hashed.ldif"
    "$SLAPADD" -f "$dir/slapd.conf" -l "$dir/seed.hashed.ldif" -q >"$dir/slapadd.log" 2>&1 \
        || { cat "$dir/slapadd.log" >&2; die "slapadd failed loading $SEED_LDIF"; }
}

# Launch slapd on the given ports; succeed once it answers a rootdn bind over
# ldap://. On failure slapd's log is in DIR/slapd.log; returns 2 when the
# failure was a port clash (caller retries with new ports), 1 otherwise.
launch() {
    local dir="$1" port="$2" tls_port="$3" pid deadline
    rm -f "$dir/slapd.pid"
    # Any -d keeps slapd in the foreground (no fork), so its stderr can go to
    # DIR/slapd.log and $! is slapd's own pid. Level "none" logs only errors
    # (e.g. "bind(6) failed errno=98 (Address already in use)"); with -d 0 even
    # those are silent. SLAPD_DEBUG=stats (or -1) gives per-operation logs.
    # setsid + redirected stdio detach it from the caller, so e.g. a test
    # harness reading our stdout is not kept waiting for EOF.
    # Runs as the current user (root): everything it touches is inside DIR.
    setsid "$SLAPD" -d "${SLAPD_DEBUG:-none}" -f "$dir/slapd.conf" \
        -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls_port/" \
        </dev/null >"$dir/slapd.log" 2>&1 8>&- 9>&- &
    pid=$!
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        # Not is_slapd_pid: for a moment after the fork $! is still bash/setsid.
        if ! is_live_pid "$pid"; then
            wait "$pid" 2>/dev/null || true     # reap it (it is dead, so no blocking)
            if grep -q 'Address already in use' "$dir/slapd.log"; then return 2; fi
            return 1
        fi
        # slapd writes its pid file only after it has bound all listeners, so
        # "pid file holds our pid" means the ports are ours. Without this check
        # a port clash could be hidden by ANOTHER instance of this script
        # answering on that port with the very same credentials.
        if [[ "$(cat "$dir/slapd.pid" 2>/dev/null)" == "$pid" ]] \
            && ldapwhoami -x -o nettimeout=2 -H "ldap://127.0.0.1:$port" \
                -D "$ADMIN_DN" -w "$ADMIN_PASSWORD" >/dev/null 2>&1; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            echo "timed out after ${START_TIMEOUT}s waiting for slapd to answer" >> "$dir/slapd.log"
            return 1
        fi
        sleep 0.1
    done
}

write_env() {
    local dir="$1" port="$2" tls_port="$3" pid="$4"
    cat > "$dir/env.tmp" <<EOF
LDAP_URL=ldap://127.0.0.1:$port
LDAPS_URL=ldaps://127.0.0.1:$tls_port
LDAP_PORT=$port
LDAPS_PORT=$tls_port
LDAP_CA_FILE=$dir/ca.pem
LDAP_BIND_DN=$SVC_DN
LDAP_BIND_PASSWORD=$SVC_PASSWORD
LDAP_ADMIN_DN=$ADMIN_DN
LDAP_ADMIN_PASSWORD=$ADMIN_PASSWORD
LDAP_SUFFIX=$SUFFIX
LDAP_BASE_DN=$PEOPLE_DN
LDAP_GROUP_BASE_DN=$GROUPS_DN
SLAPD_DIR=$dir
SLAPD_PID=$pid
EOF
    mv "$dir/env.tmp" "$dir/env"
}

# Read KEY from DIR/env.
env_get() {
    local dir="$1" key="$2" v
    v="$(sed -n "s/^$key=//p" "$dir/env" 2>/dev/null | head -n1)"
    [[ -n "$v" ]] || die "$key not found in $dir/env (was '$0 start $dir' run?)"
    echo "$v"
}

# Final self-check through every transport the tests use, as the service
# account (this also proves the seed data and its hashed passwords loaded).
# Prints what failed and returns 1 on the first failure.
self_check() {
    local dir="$1" port="$2" tls_port="$3" out
    client_env "$dir"
    out="$(ldapwhoami -x -o nettimeout=5 -H "ldap://127.0.0.1:$port" -D "$SVC_DN" -w "$SVC_PASSWORD" 2>&1)" \
        || { log "service account bind over ldap:// failed: $out"; return 1; }
    out="$(ldapwhoami -x -ZZ -o nettimeout=5 -H "ldap://127.0.0.1:$port" -D "$SVC_DN" -w "$SVC_PASSWORD" 2>&1)" \
        || { log "StartTLS (-ZZ) check failed: $out"; return 1; }
    out="$(ldapwhoami -x -o nettimeout=5 -H "ldaps://127.0.0.1:$tls_port" -D "$SVC_DN" -w "$SVC_PASSWORD" 2>&1)" \
        || { log "ldaps:// check failed: $out"; return 1; }
}

cmd_start() {
    local dir pid port tls_port attempt rc
    dir="$(abs_dir "$1")"

    # One start/stop at a time per DIR.
    exec 9>"$dir/.lock"
    flock -w 60 9 || die "timed out waiting for the lock on $dir/.lock"

    if pid="$(instance_pid "$dir")" && [[ -s "$dir/env" ]]; then
        log "slapd already running in $dir (pid $pid)"
        cat "$dir/env"
        return 0
    fi
    require_tools

    make_certs "$dir"
    write_config "$dir"
    "$SLAPTEST" -u -f "$dir/slapd.conf" >"$dir/slaptest.log" 2>&1 \
        || { cat "$dir/slaptest.log" >&2; die "generated $dir/slapd.conf is invalid"; }
    load_seed "$dir"

    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        tls_port="$(free_port)"
        [[ "$port" != "$tls_port" ]] || continue
        rc=0
        launch "$dir" "$port" "$tls_port" || rc=$?
        ((rc == 0)) && break
        if ((rc == 2)); then
            log "port clash on $port/$tls_port, retrying with other ports (attempt $attempt)"
            continue
        fi
        tail -n 30 "$dir/slapd.log" >&2
        die "slapd failed to start (full log: $dir/slapd.log)"
    done
    ((rc == 0)) || die "slapd could not get free ports after 5 attempts (log: $dir/slapd.log)"

    pid="$(instance_pid "$dir")" || die "slapd answered but $dir/slapd.pid is missing"
    if ! self_check "$dir" "$port" "$tls_port"; then
        # Do not leave a half-working server behind.
        kill -TERM "$pid" 2>/dev/null || true
        wait_for_exit "$pid" "$STOP_TIMEOUT" || kill -KILL "$pid" 2>/dev/null || true
        die "slapd started but failed its self-check (slapd stopped; log: $dir/slapd.log)"
    fi
    write_env "$dir" "$port" "$tls_port" "$pid"
    log "slapd running in $dir (pid $pid, ldap $port, ldaps $tls_port)"
    cat "$dir/env"
}

# ============================================================================
# stop / modify
# ============================================================================

cmd_stop() {
    local dir pid
    [[ -d "$1" ]] || { log "$1 does not exist; nothing to stop"; return 0; }
    dir="$(abs_dir "$1")"
    exec 9>"$dir/.lock"
    flock -w 60 9 || die "timed out waiting for the lock on $dir/.lock"

    if ! pid="$(instance_pid "$dir")"; then
        log "no slapd running in $dir"
        rm -f "$dir/slapd.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$STOP_TIMEOUT"; then
        log "slapd (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for_exit "$pid" 5 || die "slapd (pid $pid) did not exit"
    fi
    rm -f "$dir/slapd.pid"
    log "slapd (pid $pid) in $dir stopped"
}

cmd_modify() {
    local dir="$1" ldif="$2" url
    [[ -d "$dir" ]] || die "$dir does not exist"
    dir="$(abs_dir "$dir")"
    instance_pid "$dir" >/dev/null || die "no slapd running in $dir; run '$0 start $dir' first"
    if [[ "$ldif" != - ]]; then
        [[ -r "$ldif" ]] || die "cannot read LDIF file $ldif"
    fi
    url="$(env_get "$dir" LDAP_URL)"
    client_env "$dir"
    if [[ "$ldif" == - ]]; then
        ldapmodify -x -o nettimeout=5 -H "$url" -D "$ADMIN_DN" -w "$ADMIN_PASSWORD" >&2 \
            || die "ldapmodify (LDIF from stdin) failed"
    else
        ldapmodify -x -o nettimeout=5 -H "$url" -D "$ADMIN_DN" -w "$ADMIN_PASSWORD" -f "$ldif" >&2 \
            || die "ldapmodify -f $ldif failed"
    fi
}

# ============================================================================

main() {
    (($#)) || usage
    local cmd="$1"; shift
    case "$cmd" in
        install) (($# == 0)) || usage; cmd_install ;;
        start)   (($# == 1)) || usage; cmd_start "$1" ;;
        stop)    (($# == 1)) || usage; cmd_stop "$1" ;;
        modify)  (($# == 2)) || usage; cmd_modify "$1" "$2" ;;
        -h|--help|help) usage ;;
        *) echo "slapd.sh: unknown command '$cmd'" >&2; usage ;;
    esac
}

main "$@"
