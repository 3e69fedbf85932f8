#!/usr/bin/env bash
# Makes present what `make test` needs beyond Go: MariaDB (127.0.0.1:3306,
# root without password) and Redis (127.0.0.1:6379), started when they are
# not answering, docker-compose (pkg/deploy validates docker-compose.yml
# with it), fail2ban and curl (tests run fail2ban-regex and a foreground
# fail2ban-server over deploy/fail2ban, whose action calls portal-api with
# curl), each installed from Debian's packages first when absent. Tests
# never skip a missing service or tool: this script makes it present, or
# fails.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }

mariadb_up() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

apt_install() {
	if [ -z "${APT_UPDATED:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

wait_for() {
	local name=$1 check=$2
	for _ in $(seq 1 60); do
		if $check; then log "$name is up"; return 0; fi
		sleep 0.5
	done
	log "$name did not start"; return 1
}

if ! mariadb_up; then
	fresh=""
	if [ ! -x /usr/sbin/mariadbd ]; then
		log "installing MariaDB"
		apt_install mariadb-server mariadb-client
		fresh=1
	fi
	log "starting MariaDB"
	mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
	sock_up() { mariadb-admin ping >/dev/null 2>&1; }
	wait_for "MariaDB (socket)" sock_up
	# Debian's root logs in through the unix socket only; tests connect over
	# TCP as root without a password, as on the project's machines.
	if ! mariadb_up; then
		mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
	fi
	wait_for MariaDB mariadb_up
	[ -n "$fresh" ] && log "MariaDB installed and started"
fi

if ! redis_up; then
	if ! command -v redis-server >/dev/null; then
		log "installing Redis"
		apt_install redis-server
	fi
	log "starting Redis"
	mkdir -p /var/lib/redis /var/log/redis
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for Redis redis_up
fi

if ! command -v docker-compose >/dev/null; then
	log "installing docker-compose"
	apt_install docker-compose
	command -v docker-compose >/dev/null || { log "docker-compose did not install"; exit 1; }
fi

# Only the programs: the tests run fail2ban-server in the foreground with
# their own configuration and socket, never the system's daemon (on a host
# with an init system, installing the package starts that daemon with
# Debian's default sshd jail, as it would for any administrator).
if ! command -v fail2ban-regex >/dev/null || ! command -v fail2ban-server >/dev/null; then
	log "installing fail2ban"
	apt_install fail2ban
	command -v fail2ban-server >/dev/null || { log "fail2ban did not install"; exit 1; }
fi
# The project's fail2ban action calls portal-api with curl.
if ! command -v curl >/dev/null; then
	log "installing curl"
	apt_install curl
fi
