#!/bin/bash
# How Tests/Fixtures/v4-server was made, with commit 2f92ecd's debug binaries (the last
# main before checkpoints); prints the temporary directory whose server/spor.sqlite
# became the fixture. Aarhus and Odense write two sections concurrently, 24 saves in
# all, each its own stored batch.
set -euo pipefail
BIN=${1:?usage: make-v4-server.sh BUILD_DIR_OF_COMMIT_2f92ecd (e.g. .build/debug of a checkout of it)}
D=$(mktemp -d); SRV=$D/server
export SPOR_SERVER_NOW=2027-04-01T09:00:00Z
$BIN/spor-server serve --data $SRV --listen 127.0.0.1:7792 --log-level error > $D/serve.log 2>&1 &
PID=$!
sleep 3
T=$($BIN/spor-server org add "Aarhus Kommune" --kind kommune --code 0751 --data $SRV | tail -1)
T2=$($BIN/spor-server org add "Odense Kommune" --kind kommune --code 0461 --data $SRV | tail -1)
export SPOR_NOW=2027-04-01T09:00:00Z
SPOR_HOME=$D/aarhus $BIN/spor setup --server 127.0.0.1:7792 --token "$T" > /dev/null
SPOR_HOME=$D/odense $BIN/spor setup --server 127.0.0.1:7792 --token "$T2" > /dev/null
ID=$(SPOR_HOME=$D/aarhus $BIN/spor new "Regnvand i Aarhus og Odense")
SPOR_HOME=$D/aarhus $BIN/spor participant add $ID --org 0461 --role partner > /dev/null
SPOR_HOME=$D/aarhus $BIN/spor sync > /dev/null
SPOR_HOME=$D/odense $BIN/spor sync > /dev/null
# Both write offline, then sync: two concurrent branches of 12 saves each.
for i in $(seq 1 12); do
  SPOR_HOME=$D/aarhus $BIN/spor set $ID summary "Aarhus, udkast $i: regnvand ledes til grønne områder." > /dev/null
  SPOR_HOME=$D/odense $BIN/spor set $ID risks "Odense, udkast $i: risikoen er tørke om sommeren." > /dev/null
done
SPOR_HOME=$D/aarhus $BIN/spor sync > /dev/null
SPOR_HOME=$D/odense $BIN/spor sync > /dev/null
SPOR_HOME=$D/aarhus $BIN/spor sync > /dev/null
kill $PID; wait $PID || true
sqlite3 $SRV/spor.sqlite "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
echo "ID=$ID T=$T T2=$T2 D=$D"
sqlite3 $SRV/spor.sqlite "SELECT identifier FROM grdb_migrations;"
sqlite3 $SRV/spor.sqlite "SELECT count(*) FROM batch;"
