#!/usr/bin/env bash
# Starts, stops or lists the local servers the back-end tests talk to, all on 127.0.0.1.
# A server that already answers on its port is reused (the node-svc machines start Redis, PostgreSQL and MariaDB
# before a session); only missing ones are started, with their data under $BEAKER_SERVICES_DIR.
#   bash scripts/services.sh start|stop|status
set -euo pipefail

S=${BEAKER_SERVICES_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.services}
MEMCACHED_PORTS=(11211 11212 11213)
CLUSTER_PORTS=(7000 7001 7002 7003 7004 7005)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    port_open "$port" && return 0
    sleep 0.1
  done
  echo "$name did not start on port $port" >&2
  return 1
}

start_redis() {
  if port_open 6379; then echo "redis: reusing 127.0.0.1:6379"; return; fi
  mkdir -p "$S/redis"
  redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --dir "$S/redis" --pidfile "$S/redis/redis.pid" \
    --logfile "$S/redis/redis.log" --save '' --appendonly no
  wait_for_port 6379 redis && echo "redis: started on 127.0.0.1:6379"
}

start_redis_cluster() {
  if port_open 7000; then echo "redis cluster: reusing 127.0.0.1:7000-7005"; return; fi
  local port nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do
    mkdir -p "$S/cluster/$port"
    rm -f "$S/cluster/$port/nodes.conf"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$S/cluster/$port/nodes.conf" \
      --cluster-node-timeout 5000 --dir "$S/cluster/$port" --daemonize yes --pidfile "$S/cluster/$port/redis.pid" \
      --logfile "$S/cluster/$port/redis.log" --save '' --appendonly no
    nodes+=("127.0.0.1:$port")
  done
  for port in "${CLUSTER_PORTS[@]}"; do wait_for_port "$port" "redis cluster node $port"; done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$S/cluster/create.log" 2>&1
  for _ in $(seq 1 100); do
    local ok=0
    for port in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
    done
    [ "$ok" -eq ${#CLUSTER_PORTS[@]} ] && { echo "redis cluster: started on 127.0.0.1:7000-7005 (3 masters, 3 replicas)"; return; }
    sleep 0.1
  done
  echo "redis cluster did not become ready" >&2
  return 1
}

start_memcached() {
  local port
  for port in "${MEMCACHED_PORTS[@]}"; do
    if port_open "$port"; then echo "memcached: reusing 127.0.0.1:$port"; continue; fi
    mkdir -p "$S/memcached"
    memcached -d -l 127.0.0.1 -p "$port" -U 0 -m 64 -u root -P "$S/memcached/$port.pid"
    wait_for_port "$port" "memcached $port" && echo "memcached: started on 127.0.0.1:$port"
  done
}

start_postgres() {
  if port_open 5432; then echo "postgres: reusing 127.0.0.1:5432"; return; fi
  if [ -x "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n1)/pg_ctl" ] && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start
    wait_for_port 5432 postgres && echo "postgres: started the machine's cluster"
    return
  fi
  echo "postgres: not installed and not running (apt-get install postgresql)" >&2
}

start_mariadb() {
  if port_open 3306; then echo "mariadb: reusing 127.0.0.1:3306"; return; fi
  if command -v mariadbd >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_for_port 3306 mariadb && echo "mariadb: started the machine's server"
    return
  fi
  echo "mariadb: not installed and not running (apt-get install mariadb-server)" >&2
}

start_nats() {
  if port_open 4222; then echo "nats: reusing 127.0.0.1:4222"; return; fi
  if ! command -v nats-server >/dev/null; then
    echo "nats: not installed and not running (apt-get install nats-server)" >&2
    return
  fi
  # JetStream (-js) holds the key-value buckets of examples/custom-backend; its files stay under $S/nats.
  mkdir -p "$S/nats"
  setsid nats-server -a 127.0.0.1 -p 4222 -js -sd "$S/nats/jetstream" -P "$S/nats/nats.pid" -l "$S/nats/nats.log" \
    </dev/null >/dev/null 2>&1 &
  wait_for_port 4222 nats && echo "nats: started on 127.0.0.1:4222 (JetStream)"
}

DATASTORE_EMULATOR=/usr/lib/google-cloud-sdk/platform/cloud-datastore-emulator/cloud_datastore_emulator

start_datastore() {
  if port_open 8081; then echo "datastore emulator: reusing 127.0.0.1:8081"; return; fi
  if [ ! -x "$DATASTORE_EMULATOR" ]; then
    # It ships with the Google Cloud CLI of the machine image; apt cannot install it here.
    echo "datastore emulator: $DATASTORE_EMULATOR is missing (install the Google Cloud CLI's cloud-datastore-emulator)" >&2
    return
  fi
  mkdir -p "$S/datastore"
  "$DATASTORE_EMULATOR" create "$S/datastore/project" >/dev/null 2>&1 || true
  setsid "$DATASTORE_EMULATOR" start --host=127.0.0.1 --port=8081 --store_on_disk=false --consistency=1.0 \
    --allow_remote_shutdown "$S/datastore/project" </dev/null >"$S/datastore/emulator.log" 2>&1 &
  echo $! >"$S/datastore/emulator.pid"
  for _ in $(seq 1 200); do
    [ "$(curl -s http://127.0.0.1:8081/ 2>/dev/null)" = "Ok" ] && { echo "datastore emulator: started on 127.0.0.1:8081"; return; }
    sleep 0.1
  done
  echo "datastore emulator did not start (see $S/datastore/emulator.log)" >&2
  return 1
}

stop_own() {
  # Stops only what this script started (the pid files under $S); servers it reused keep running.
  local pidfile
  for pidfile in "$S"/memcached/*.pid "$S"/redis/redis.pid "$S"/cluster/*/redis.pid "$S"/nats/nats.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [ -f "$S/datastore/emulator.pid" ]; then
    curl -s -X POST http://127.0.0.1:8081/shutdown >/dev/null 2>&1 || kill -TERM -- "-$(cat "$S/datastore/emulator.pid")" 2>/dev/null || true
    rm -f "$S/datastore/emulator.pid"
  fi
  echo "stopped the servers started under $S"
}

status() {
  local port
  for port in 6379 "${CLUSTER_PORTS[@]}" "${MEMCACHED_PORTS[@]}" 5432 3306 8081 4222; do
    if port_open "$port"; then echo "127.0.0.1:$port up"; else echo "127.0.0.1:$port down"; fi
  done
}

case "${1:-}" in
  start)
    start_redis
    start_redis_cluster
    start_memcached
    start_postgres
    start_mariadb
    start_datastore
    start_nats
    ;;
  stop) stop_own ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
