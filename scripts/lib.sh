# shellcheck shell=bash
# scripts/lib.sh - what scripts/up, down, test and ctl share: settings,
# packages, the build, and starting and stopping each part of the private
# stack (PostgreSQL, Redis, the FastCGI pool, nginx).
#
# Source it from a bash script that runs with `set -euo pipefail`.  Nothing
# here touches the system outside $RUN_DIR, except installing missing Debian
# packages.
#
# Settings, from the environment:
#   RUN_DIR      the stack's directory               (default: <repo>/run)
#   PORT         nginx, on 127.0.0.1                 (8080)
#   PG_PORT      PostgreSQL, on 127.0.0.1            (54329)
#   REDIS_PORT   Redis, on 127.0.0.1                 (63799)
#   WORKERS      FastCGI worker processes            (six per core, as
#                contacts-fcgi's own default: 12 on 2 cores; scripts/test: 4)
#   NO_INSTALL   1: do not install missing packages  (unset)
#   BIN_DIR      where contacts-fcgi and contactsctl are (<repo>/fcgi-app;
#                scripts/test --sanitize points it at a sanitizer build)
#   APP_WRAPPER  a command the pool runs under, e.g. valgrind and its
#                options (scripts/valgrind); APP_COMM is then the pool's
#                process name (e.g. memcheck-amd64-)
#
# Layout of $RUN_DIR:
#   pg/ pg.log pgsock/          PostgreSQL cluster, log, unix socket
#   redis.pid redis.log redis/  Redis (redis/ is its empty working dir)
#   contacts.conf               the service's configuration (rewritten on
#                               every start)
#   contacts-fcgi.sock .pid .log   the worker pool
#   nginx/ nginx.pid            nginx's configuration, logs, temporary files
#   api-key org-id              the development organization and its key

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BIN_DIR=${BIN_DIR:-$REPO/fcgi-app}
APP_COMM=${APP_COMM:-contacts-fcgi}
PROG=$(basename -- "$0")

RUN_DIR=${RUN_DIR:-$REPO/run}
PORT=${PORT:-8080}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
WORKERS=${WORKERS:-$((6 * $(nproc 2>/dev/null || echo 2)))}

PKGS_BUILD=(gcc libc6-dev make autoconf automake libtool pkg-config
	libfcgi-dev libjansson-dev libhiredis-dev libpq-dev libcmocka-dev)
PKGS_RUN=(postgresql redis-server nginx curl)
PKGS_TEST=(python3 python3-pytest python3-yaml valgrind systemd wrk clang)
# tests/package: building the Debian package, checking it, reading its
# man pages.
PKGS_PACKAGE=(dpkg-dev debhelper fakeroot lintian man-db groff-base systemd)
# scripts/cluster: Patroni (with etcd, through python3-etcd's v2 API) over
# two PostgreSQL servers, Redis under three sentinels; setpriv (util-linux)
# runs Patroni as the postgres user without a process in between.
PKGS_CLUSTER=(patroni python3-etcd python3-psycopg2 etcd-server redis-sentinel
	util-linux)

# --------------------------------------------------------------------------
# messages

say() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}
section() {
	printf '\n==================== %s ====================\n' "$*"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
	if is_root; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -- "$@"
	else
		die "need root to run '$*' (run as root or install sudo)"
	fi
}

# Runs a command as the owner of the PostgreSQL cluster: the `postgres`
# user when we are root (the server refuses to run as root), else us.  It
# runs in /, since the current directory may be closed to that user.
as_pg() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

check_settings() {
	local name
	for name in PORT PG_PORT REDIS_PORT; do
		if ! [[ ${!name} =~ ^[0-9]+$ ]] || [ "${!name}" -lt 1 ] ||
			[ "${!name}" -gt 65535 ]; then
			die "$name=${!name} is not a port number"
		fi
	done
	[[ $WORKERS =~ ^[0-9]+$ ]] || die "WORKERS=$WORKERS is not a number"
	case $RUN_DIR in
	/*) ;;
	*) RUN_DIR=$PWD/$RUN_DIR ;;
	esac
	[[ $RUN_DIR =~ [[:space:]\'\"\\] ]] &&
		die "RUN_DIR='$RUN_DIR' must not contain white space, quotes or backslashes"
	return 0
}

# --------------------------------------------------------------------------
# packages

# Prints the packages of the arguments that are not installed.
missing_packages() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=
		[ "$status" = installed ] || printf '%s\n' "$p"
	done
}

# install_packages GROUP...: installs the missing packages of the groups
# (build, run, test, package, cluster).  apt-get update runs only when something is
# missing.
install_packages() {
	local group want=() missing
	for group in "$@"; do
		case $group in
		build) want+=("${PKGS_BUILD[@]}") ;;
		run) want+=("${PKGS_RUN[@]}") ;;
		test) want+=("${PKGS_TEST[@]}") ;;
		package) want+=("${PKGS_PACKAGE[@]}") ;;
		cluster) want+=("${PKGS_CLUSTER[@]}") ;;
		*) die "unknown package group $group" ;;
		esac
	done
	if [ "${NO_INSTALL:-}" = 1 ]; then
		return 0
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		warn "not a Debian system: not installing packages; need: ${want[*]}"
		return 0
	fi
	mapfile -t missing < <(missing_packages "${want[@]}")
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	step "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
	# The packages' own services (a system PostgreSQL on 5432, Redis on
	# 6379, nginx on 80) may have been started by the postinst scripts.
	# They are not used and do not conflict with the ports used here.
}

# --------------------------------------------------------------------------
# build

# build [--werror] [--fault-hooks]: autoreconf when configure is missing or
# older than configure.ac, configure when there is no Makefile (always with
# --enable-werror), then make.  With --werror (--fault-hooks), a tree
# configured without --enable-werror (--enable-fault-hooks) is configured
# again with it, keeping its other options.  --fault-hooks is for
# scripts/test only (fcgi-app/fault.h).
# shellcheck disable=SC2120
build() {
	local opt want=(--enable-werror) missing=() args
	for opt in "$@"; do
		case $opt in
		--werror) ;;
		--fault-hooks) want+=(--enable-fault-hooks) ;;
		*) die "build: unknown option $opt" ;;
		esac
	done
	cd "$REPO" || die "cannot cd to $REPO"
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		step "autoreconf"
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ ! -x config.status ]; then
		step "configure ${want[*]}"
		./configure "${want[@]}"
	elif [ $# -gt 0 ]; then
		args=$(./config.status --config)
		for opt in "${want[@]}"; do
			# quoted or not, depending on the version of autoconf
			case " $args " in
			*" $opt "* | *" '$opt' "*) ;;
			*) missing+=("$opt") ;;
			esac
		done
		if [ "${#missing[@]}" -gt 0 ]; then
			step "reconfigure with ${missing[*]} (was: ${args:-no options})"
			eval "./configure $args ${missing[*]}"
		fi
	fi
	step "make"
	make -j"$(nproc 2>/dev/null || echo 2)"
}

# A port is taken when something accepts a connection on it.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port FIRST: FIRST, or the next port after it that is free.
free_port() {
	local p
	for ((p = $1; p < $1 + 100; p++)); do
		if ! port_taken "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	die "no free port in $1-$(($1 + 99))"
}

# --------------------------------------------------------------------------
# processes

# is_alive PID NAME: PID is a live process whose name (comm) is NAME, so a
# pid file left behind never makes us signal an unrelated process.
is_alive() {
	local pid=$1 name=$2 comm
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	running "$pid" || return 1
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	[ "$comm" = "$name" ]
}

# pid_of FILE NAME: prints the pid in FILE when that process is alive.
pid_of() {
	local file=$1 name=$2 pid
	[ -s "$file" ] || return 1
	pid=$(head -n 1 "$file" 2>/dev/null) || return 1
	pid=${pid//[[:space:]]/}
	is_alive "$pid" "$name" || return 1
	printf '%s\n' "$pid"
}

# Prints the pids of PID's children.
children_of() {
	local parent=$1 stat rest
	for stat in /proc/[0-9]*/stat; do
		read -r rest 2>/dev/null <"$stat" || continue
		rest=${rest##*) }
		rest=${rest#* }
		if [ "${rest%% *}" = "$parent" ]; then
			stat=${stat#/proc/}
			printf '%s\n' "${stat%/stat}"
		fi
	done
}

# running PID: PID is a process that has not exited.  An exited process
# whose parent has not reaped it yet (a zombie; the servers daemonize, so
# their parent is init) counts as exited.
running() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# proc_id PID: prints PID:STARTTIME, which names one process even after its
# pid is reused.
proc_id() {
	local stat f
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	read -r -a f <<<"${stat##*) }"
	printf '%s:%s\n' "$1" "${f[19]}"
}

# running_id PID:STARTTIME: that very process has not exited.
running_id() {
	running "${1%%:*}" && [ "$(proc_id "${1%%:*}")" = "$1" ]
}

# wait_gone SECONDS PID...: waits until every PID has exited.
wait_gone() {
	local timeout=$1 pid left i
	shift
	for ((i = 0; i < timeout * 10; i++)); do
		left=0
		for pid in "$@"; do
			if running "$pid"; then
				left=1
			fi
		done
		[ "$left" -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# stop_pids NAME SIGNAL SECONDS PID...: sends SIGNAL to the first PID (the
# master) and waits for all of them; SIGKILL for those still there after
# SECONDS.
stop_pids() {
	local name=$1 sig=$2 timeout=$3 pid
	shift 3
	kill "-$sig" "$1" 2>/dev/null || true
	if ! wait_gone "$timeout" "$@"; then
		warn "$name did not stop within ${timeout}s: killing it"
		for pid in "$@"; do
			kill -KILL "$pid" 2>/dev/null || true
		done
		if ! wait_gone 5 "$@"; then
			warn "$name: process(es) $* still there"
			return 1
		fi
	fi
}

# tail_logs: the end of every log of the stack, to see why it failed.
tail_logs() {
	local f
	for f in "$RUN_DIR/pg.log" "$RUN_DIR/redis.log" \
		"$RUN_DIR/contacts-fcgi.log" "$RUN_DIR/nginx/logs/error.log"; do
		[ -s "$f" ] || continue
		printf '\n----- %s (last 30 lines) -----\n' "$f" >&2
		tail -n 30 "$f" >&2 || true
	done
}

# --------------------------------------------------------------------------
# the run directory

# The servers run as other users (postgres, and nginx's workers as
# www-data) and need to reach their sockets under $RUN_DIR.  When the
# directory above $RUN_DIR is closed to them (say, a clone under /root),
# the stack lives in a directory under /tmp and $RUN_DIR is a link to it.
run_dir_reachable() {
	local user dir=$1
	is_root || return 0
	for user in postgres www-data; do
		id -u "$user" >/dev/null 2>&1 || continue
		runuser -u "$user" -- test -x "$dir" || return 1
	done
	return 0
}

prepare_run_dir() {
	local parent real
	parent=$(dirname -- "$RUN_DIR")
	mkdir -p -- "$parent"
	if [ -L "$RUN_DIR" ] && [ ! -d "$RUN_DIR" ]; then
		# a link to a directory under /tmp that has since been removed
		rm -f -- "$RUN_DIR"
	fi
	if [ ! -e "$RUN_DIR" ]; then
		if run_dir_reachable "$parent"; then
			mkdir -m 755 -- "$RUN_DIR"
		else
			real=$(mktemp -d /tmp/contacts-run.XXXXXX)
			chmod 755 "$real"
			ln -s -- "$real" "$RUN_DIR"
			say "$RUN_DIR -> $real ($parent is closed to the postgres and www-data users)"
		fi
	fi
	RUN_DIR=$(cd -- "$RUN_DIR" && pwd -P)
	run_dir_reachable "$RUN_DIR" ||
		die "$RUN_DIR is not reachable by the postgres and www-data users; remove it or choose another RUN_DIR"
	# unix socket paths are limited to 107 bytes
	[ "${#RUN_DIR}" -le 80 ] ||
		die "RUN_DIR=$RUN_DIR is too long for unix socket paths (80 characters at most)"
}

# Sets the paths derived from RUN_DIR (after prepare_run_dir).
set_paths() {
	PG_DATA=$RUN_DIR/pg
	PG_SOCK=$RUN_DIR/pgsock
	PG_LOG=$RUN_DIR/pg.log
	APP_CONF=$RUN_DIR/contacts.conf
	APP_SOCK=$RUN_DIR/contacts-fcgi.sock
	APP_PID=$RUN_DIR/contacts-fcgi.pid
	APP_LOG=$RUN_DIR/contacts-fcgi.log
	REDIS_PID=$RUN_DIR/redis.pid
	NGINX_DIR=$RUN_DIR/nginx
	NGINX_PID=$RUN_DIR/nginx.pid
	NGINX_CONF=$NGINX_DIR/nginx.conf
	URL=http://127.0.0.1:$PORT
}

# --------------------------------------------------------------------------
# PostgreSQL

# The newest installed server version's binaries.
pg_bindir() {
	local dir best=
	for dir in /usr/lib/postgresql/*/bin; do
		[ -x "$dir/initdb" ] || continue
		if [ -z "$best" ] ||
			[ "$(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1)" = "$dir" ]; then
			best=$dir
		fi
	done
	[ -n "$best" ] || die "no PostgreSQL server found in /usr/lib/postgresql/*/bin (package postgresql)"
	printf '%s\n' "$best"
}

pg_running() {
	[ -f "$PG_DATA/postmaster.pid" ] &&
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# psql as the cluster's superuser, over the unix socket.
pg_psql() {
	"$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" \
		-U postgres -d postgres "$@"
}

pg_start() {
	PG_BIN=$(pg_bindir)
	if pg_running; then
		say "postgresql: running (pid $(head -n 1 "$PG_DATA/postmaster.pid"))"
		return 0
	fi
	mkdir -p "$PG_SOCK"
	touch "$PG_LOG"
	if is_root; then
		chown postgres: "$PG_SOCK" "$PG_LOG"
	fi
	chmod 755 "$PG_SOCK"
	if [ ! -s "$PG_DATA/PG_VERSION" ]; then
		step "postgresql: initdb $PG_DATA"
		rm -rf "$PG_DATA"
		mkdir -m 700 "$PG_DATA"
		if is_root; then
			chown postgres: "$PG_DATA"
		fi
		as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 \
			--locale=C.UTF-8 --auth-local=trust --auth-host=trust \
			>>"$PG_LOG" 2>&1 || {
			tail -n 20 "$PG_LOG" >&2
			die "initdb failed"
		}
		as_pg sh -c "echo \"include_if_exists = 'contacts-dev.conf'\" >> '$PG_DATA/postgresql.conf'"
	fi
	# Written on every start, so that a changed PG_PORT applies.  Durability
	# stays on: a write answered 2xx must survive a crash.
	as_pg tee "$PG_DATA/contacts-dev.conf" >/dev/null <<EOF
# Written by scripts/lib.sh on every start of the private stack.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	step "postgresql: starting on 127.0.0.1:$PG_PORT"
	if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
		</dev/null >/dev/null; then
		tail -n 30 "$PG_LOG" >&2
		die "postgresql did not start"
	fi
}

# The role and database of the service, the first time.
pg_provision() {
	if [ "$(pg_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'contacts'")" != 1 ]; then
		step "postgresql: create role contacts"
		pg_psql -c "CREATE ROLE contacts LOGIN"
	fi
	if [ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = 'contacts'")" != 1 ]; then
		step "postgresql: create database contacts"
		pg_psql -c "CREATE DATABASE contacts OWNER contacts ENCODING 'UTF8' TEMPLATE template0"
	fi
}

pg_stop() {
	local pid pids
	[ -f "$PG_DATA/postmaster.pid" ] || return 0
	PG_BIN=$(pg_bindir)
	if pg_running; then
		pid=$(head -n 1 "$PG_DATA/postmaster.pid")
		step "postgresql: stopping (pid $pid)"
		mapfile -t pids < <(echo "$pid"; children_of "$pid")
		if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop \
			</dev/null >/dev/null; then
			warn "pg_ctl stop failed"
			return 1
		fi
		# pg_ctl returns once the pid file is gone; the processes may
		# take a moment longer
		if ! wait_gone 10 "${pids[@]}"; then
			warn "postgresql: process(es) still there after pg_ctl stop"
			return 1
		fi
	fi
}

# --------------------------------------------------------------------------
# Redis: a cache that must not persist (docs/caching.md), and that evicts
# only keys with a TTL.

redis_start() {
	local pid i
	if pid=$(pid_of "$REDIS_PID" redis-server); then
		say "redis: running (pid $pid)"
		return 0
	fi
	mkdir -p "$RUN_DIR/redis"
	rm -f "$REDIS_PID"
	step "redis: starting on 127.0.0.1:$REDIS_PORT"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
		--save "" --appendonly no \
		--maxmemory 256mb --maxmemory-policy volatile-lru \
		--daemonize yes --pidfile "$REDIS_PID" \
		--logfile "$RUN_DIR/redis.log" --dir "$RUN_DIR/redis" \
		</dev/null >/dev/null 2>&1 || true
	for ((i = 0; i < 100; i++)); do
		if pid_of "$REDIS_PID" redis-server >/dev/null &&
			[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 30 "$RUN_DIR/redis.log" >&2 || true
	die "redis did not start"
}

redis_stop() {
	local pid rc=0
	if pid=$(pid_of "$REDIS_PID" redis-server); then
		step "redis: stopping (pid $pid)"
		stop_pids redis TERM 20 "$pid" || rc=1
	fi
	rm -f "$REDIS_PID"
	return "$rc"
}

# --------------------------------------------------------------------------
# the worker pool

write_app_config() {
	cat >"$APP_CONF.tmp" <<EOF
# The private stack's configuration of contacts-fcgi and contactsctl.
# Written by scripts/lib.sh on every start: edit scripts/lib.sh, not this.
database = host=$PG_SOCK port=$PG_PORT dbname=contacts user=contacts
redis = 127.0.0.1:$REDIS_PORT
workers = $WORKERS
listen = $APP_SOCK
# nginx's workers run as another user (www-data) and must connect
listen_mode = 0666
pid_file = $APP_PID
schema_dir = $REPO/schema
log_level = info
# Clients on this host (scripts, the test suite's own failed keys) are not
# counted as failed authentications; tests/e2e/test_limits.py comes from
# 127.0.0.2 to be counted.
auth_fail_exempt = 127.0.0.1 ::1
# The test suite and the benchmark drive one key far past what a client
# should; tests/e2e/test_limits.py gives its keys limits of their own.
key_rate_limit = 0
EOF
	mv -f "$APP_CONF.tmp" "$APP_CONF"
}

ctl() {
	"$BIN_DIR/contactsctl" -c "$APP_CONF" "$@"
}

app_start() {
	local pid i
	write_app_config
	"$BIN_DIR/contacts-fcgi" -c "$APP_CONF" --check-config >/dev/null ||
		die "contacts-fcgi --check-config failed on $APP_CONF"
	step "migrate"
	ctl migrate
	if pid=$(pid_of "$APP_PID" "$APP_COMM"); then
		if [ "$BIN_DIR/contacts-fcgi" -nt "$APP_PID" ]; then
			say "contacts-fcgi: rebuilt since it started: restarting it"
			app_stop
		else
			say "contacts-fcgi: running (pid $pid)"
			return 0
		fi
	fi
	rm -f "$APP_PID"
	step "contacts-fcgi: starting $WORKERS workers on $APP_SOCK"
	# shellcheck disable=SC2086 # APP_WRAPPER is a command and its words
	setsid ${APP_WRAPPER:-} "$BIN_DIR/contacts-fcgi" -c "$APP_CONF" \
		</dev/null >>"$APP_LOG" 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		if pid_of "$APP_PID" "$APP_COMM" >/dev/null && [ -S "$APP_SOCK" ]; then
			return 0
		fi
		if ! running "$pid"; then
			break
		fi
		sleep 0.1
	done
	tail -n 30 "$APP_LOG" >&2 || true
	die "contacts-fcgi did not start (see $APP_LOG)"
}

app_stop() {
	local pid rc=0
	if pid=$(pid_of "$APP_PID" "$APP_COMM"); then
		step "contacts-fcgi: stopping (pid $pid)"
		# shutdown_timeout (10 s) for the requests in hand, and some slack
		# shellcheck disable=SC2046
		stop_pids "$APP_COMM" TERM 20 "$pid" $(children_of "$pid") || rc=1
	fi
	rm -f "$APP_PID"
	return "$rc"
}

# --------------------------------------------------------------------------
# nginx: the site that ships (nginx/contacts.conf), templated only for the
# listening address, the pool's socket and the log directory.  scripts/cluster
# passes to an upstream of several pools instead: NGINX_FCGI_PASS is its
# name, and NGINX_UPSTREAM the upstream {} block, put before the site.

nginx_cmd() {
	nginx -p "$NGINX_DIR" -e "$NGINX_DIR/logs/error.log" -c "$NGINX_CONF" "$@"
}

nginx_configure() {
	local user_line=
	mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/tmp"
	if is_root; then
		user_line="user www-data;"
		chown www-data: "$NGINX_DIR/tmp"
	fi
	{
		if [ -n "${NGINX_UPSTREAM:-}" ]; then
			printf '%s\n' "$NGINX_UPSTREAM"
		fi
		sed -e "s|@LISTEN@|127.0.0.1:$PORT|g" \
			-e "s|@FCGI_SOCKET@|${NGINX_FCGI_PASS:-unix:$APP_SOCK}|g" \
			-e "s|/var/log/nginx/|$NGINX_DIR/logs/|g" \
			"$REPO/nginx/contacts.conf"
	} >"$NGINX_DIR/contacts.conf.new"
	sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@USER@|$user_line|g" \
		"$REPO/nginx/nginx.conf.in" >"$NGINX_DIR/nginx.conf.new"
	if grep -n '@[A-Z_]*@' "$NGINX_DIR/contacts.conf.new" "$NGINX_DIR/nginx.conf.new"; then
		die "placeholders left in the nginx configuration"
	fi
	mv -f "$NGINX_DIR/contacts.conf.new" "$NGINX_DIR/contacts.conf"
	mv -f "$NGINX_DIR/nginx.conf.new" "$NGINX_DIR/nginx.conf"
	if ! nginx_cmd -t -q; then
		die "nginx configuration test failed"
	fi
}

nginx_start() {
	local pid i
	cp -p "$NGINX_DIR/contacts.conf" "$NGINX_DIR/contacts.conf.old" 2>/dev/null || true
	nginx_configure
	if pid=$(pid_of "$NGINX_PID" nginx); then
		if cmp -s "$NGINX_DIR/contacts.conf" "$NGINX_DIR/contacts.conf.old"; then
			say "nginx: running (pid $pid)"
		else
			say "nginx: running (pid $pid); the site changed: reloading"
			nginx_cmd -s reload
		fi
		rm -f "$NGINX_DIR/contacts.conf.old"
		return 0
	fi
	rm -f "$NGINX_DIR/contacts.conf.old" "$NGINX_PID"
	step "nginx: starting on 127.0.0.1:$PORT"
	nginx_cmd </dev/null >/dev/null 2>>"$NGINX_DIR/logs/error.log" || {
		tail -n 20 "$NGINX_DIR/logs/error.log" >&2
		die "nginx did not start"
	}
	for ((i = 0; i < 50; i++)); do
		pid_of "$NGINX_PID" nginx >/dev/null && return 0
		sleep 0.1
	done
	tail -n 20 "$NGINX_DIR/logs/error.log" >&2
	die "nginx did not start"
}

nginx_stop() {
	local pid rc=0
	if pid=$(pid_of "$NGINX_PID" nginx); then
		step "nginx: stopping (pid $pid)"
		# QUIT: finish the requests in hand, then exit
		# shellcheck disable=SC2046
		stop_pids nginx QUIT 15 "$pid" $(children_of "$pid") || rc=1
	fi
	rm -f "$NGINX_PID"
	return "$rc"
}

# --------------------------------------------------------------------------
# the whole stack

# http_status PATH [CURL ARGS...]: prints the status of GET $URL$PATH
# (000 when nothing answers).
http_status() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL$1" "${@:2}" || true
}

wait_healthy() {
	local timeout=${1:-30} i code
	for ((i = 0; i < timeout * 5; i++)); do
		code=$(http_status /healthz)
		[ "$code" = 200 ] && return 0
		sleep 0.2
	done
	printf '%s: GET /healthz still answers %s after %ss\n' "$PROG" "$code" "$timeout" >&2
	curl -s --max-time 5 "$URL/healthz" >&2 || true
	tail_logs
	die "the stack is not healthy"
}

# The development organization and its key, the first time (or when the
# saved key no longer works, e.g. after the database was removed).
ensure_api_key() {
	local org key code
	if [ -s "$RUN_DIR/api-key" ]; then
		# the key goes on stdin, not on a command line that ps shows
		code=$(printf 'X-API-Key: %s\n' "$(cat "$RUN_DIR/api-key")" |
			http_status /test -H @-)
		case $code in
		401) say "the saved API key is refused: making a new one" ;;
		200) return 0 ;;
		*)
			warn "GET /test with the saved key answers $code"
			return 0
			;;
		esac
	fi
	step "creating the Development organization and its API key"
	org=$(ctl org create Development)
	key=$(ctl key create "$org" --name dev)
	[ -n "$key" ] || die "contactsctl key create printed no key"
	(
		umask 077
		printf '%s\n' "$org" >"$RUN_DIR/org-id"
		printf '%s\n' "$key" >"$RUN_DIR/api-key.tmp"
	)
	mv -f "$RUN_DIR/api-key.tmp" "$RUN_DIR/api-key"
	chmod 600 "$RUN_DIR/api-key"
}

# Starts every part that is not running.  The binaries must be built.
stack_up() {
	if [ ! -x "$BIN_DIR/contacts-fcgi" ] || [ ! -x "$BIN_DIR/contactsctl" ]; then
		die "$BIN_DIR/contacts-fcgi and contactsctl are not built"
	fi
	pg_start
	pg_provision
	redis_start
	app_start
	nginx_start
	wait_healthy 30
	ensure_api_key
}

# Stops every part, in the order that loses no request: nginx, the pool,
# Redis, PostgreSQL.  A part that fails to stop does not keep the others
# running.
stack_down() {
	local rc=0
	nginx_stop || rc=1
	app_stop || rc=1
	redis_stop || rc=1
	pg_stop || rc=1
	return "$rc"
}
