#!/usr/bin/env bash
# A real distributed run: a Spark standalone master and two workers on 127.0.0.1, started from the
# pyspark package's own scripts (its wheel ships sbin/spark-daemon.sh, which start-master.sh and
# start-worker.sh wrap in a full Spark download); the rollup runs against them, the result is
# loaded into a database beside the sample's other files, and everything started here is stopped.
#
#   benchmarks/spark_cluster.sh                      # the sample organisation, 20,000 events
#   EVENTS=200000 benchmarks/spark_cluster.sh        # a bigger sample
#   EVENTS_URI='lake/month=*' benchmarks/spark_cluster.sh   # your own events (then no report)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
SPARK_HOME=$("$BIN/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
WORK=${SPARK_DEMO_DIR:-$(mktemp -d -t offload-spark-XXXXXX)}
MASTER_PORT=${MASTER_PORT:-7077}
MASTER="spark://127.0.0.1:$MASTER_PORT"
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$WORK/logs" SPARK_PID_DIR="$WORK/pids"
export SPARK_WORKER_DIR="$WORK/work" PYSPARK_PYTHON="$PWD/$BIN/python"
daemon="$SPARK_HOME/sbin/spark-daemon.sh"
chmod +x "$daemon" "$SPARK_HOME"/sbin/*.sh "$SPARK_HOME"/bin/spark-class "$SPARK_HOME"/bin/*.sh 2>/dev/null || true

stop() {
  for instance in 1 2; do "$daemon" stop org.apache.spark.deploy.worker.Worker "$instance" >/dev/null || true; done
  "$daemon" stop org.apache.spark.deploy.master.Master 1 >/dev/null || true
}
trap stop EXIT

wait_for_port() {
  "$BIN/python" - "$1" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(1)
sys.exit("the Spark master did not start; see the logs under SPARK_LOG_DIR")
PY
}

echo "starting a Spark master and two workers on 127.0.0.1 (logs: $SPARK_LOG_DIR)"
"$daemon" start org.apache.spark.deploy.master.Master 1 --host 127.0.0.1 --port "$MASTER_PORT" --webui-port 0
wait_for_port "$MASTER_PORT"
for instance in 1 2; do
  "$daemon" start org.apache.spark.deploy.worker.Worker "$instance" --host 127.0.0.1 --cores 1 --memory 1g \
    --webui-port 0 "$MASTER"
done

if [ -z "${EVENTS_URI:-}" ]; then
  "$BIN/offload-metrics" sample --out "$WORK/sample" --events "${EVENTS:-20000}"
  EVENTS_URI="$WORK/sample/usage_events.csv"
fi

started=$(date +%s.%N)
"$BIN/offload-metrics" rollup --engine spark --events "$EVENTS_URI" --out "$WORK/rollup" --master "$MASTER" \
  --conf spark.executor.memory=768m --conf spark.cores.max=2 --conf spark.ui.showConsoleProgress=false
finished=$(date +%s.%N)
echo "rollup on the two-worker cluster: $("$BIN/python" -c "print(round($finished - $started, 1))") s"

db="$WORK/demo.duckdb"
if [ -d "$WORK/sample" ]; then
  "$BIN/offload-metrics" ingest --db "$db" "$WORK/sample/org_baseline.csv" "$WORK/sample/agents.csv" \
    "$WORK/sample/time_saved.csv" "$WORK/sample/replication_events.csv" "$WORK/rollup"
  "$BIN/offload-metrics" report --db "$db" --format md | head -20
else
  "$BIN/offload-metrics" ingest --db "$db" "$WORK/rollup"
fi
echo "database: $db"
