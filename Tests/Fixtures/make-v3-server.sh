#!/bin/bash
# How Tests/Fixtures/v3-server was made, with commit 8483868's debug binaries; prints the
# temporary directory whose server/spor.sqlite became the fixture.
set -euo pipefail
BIN=${1:?usage: make-v3-server.sh BUILD_DIR_OF_COMMIT_8483868 (e.g. .build/debug of a checkout of it)}
D=$(mktemp -d); SRV=$D/server; W=$D/ws
export SPOR_SERVER_NOW=2027-03-01T09:00:00Z
$BIN/spor-server serve --data $SRV --listen 127.0.0.1:7791 --log-level error > $D/serve.log 2>&1 &
PID=$!
sleep 3
T=$($BIN/spor-server org add "Aarhus Kommune" --kind kommune --code 0751 --data $SRV | tail -1)
T2=$($BIN/spor-server org add "Odense Kommune" --kind kommune --code 0461 --data $SRV | tail -1)
export SPOR_HOME=$W SPOR_NOW=2027-03-01T09:00:00Z
$BIN/spor setup --server 127.0.0.1:7791 --token "$T" > /dev/null
ID=$($BIN/spor new "Skybrud i Aarhus og Odense" --round 2027-spring 2>/dev/null || $BIN/spor new "Skybrud i Aarhus og Odense")
$BIN/spor set $ID resumé "Aarhus og Odense tester grønne tage." > /dev/null
$BIN/spor set $ID amountRequested 1.200.000 > /dev/null
$BIN/spor participant add $ID --org 0461 --role partner > /dev/null
$BIN/spor sync > /dev/null
$BIN/spor tag $ID "til styregruppen" > /dev/null
$BIN/spor sync > /dev/null
kill $PID; wait $PID || true
sqlite3 $SRV/spor.sqlite "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
echo "ID=$ID T=$T T2=$T2 D=$D"
sqlite3 $SRV/spor.sqlite "SELECT identifier FROM grdb_migrations;"
sqlite3 $SRV/spor.sqlite "SELECT id, name FROM account;"
