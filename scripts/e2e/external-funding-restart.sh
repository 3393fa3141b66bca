#!/usr/bin/env bash
# External (PSBT) funding across a restart: a local devnet chain and two nodes on 127.0.0.1.
# A standalone `chand signer` wallet plays the hardware wallet: the faucet funds it, Alice
# opens a 1,000,000 sat channel to Bob from its coins (--external), the signer signs the PSBT,
# then Alice is killed with SIGKILL and started again before the signed PSBT is submitted.
# After the restart Alice still has the open waiting for its signature; the PSBT is submitted,
# the chain confirms it, and the script exits 0 only if both nodes list the channel open.
# Every process it starts is stopped (by PID) when it ends. test/e2e-external-funding.test.ts
# runs it.
#
# Ports and the directory can be moved: DEVNET_PORT, ALICE_PORT, ALICE_RPC, BOB_PORT, BOB_RPC,
# CHAND_DEMO_DIR (default ./chand-demo-external, recreated on each run).
set -euo pipefail
cd "$(dirname "$0")/../.."

DEMO=${CHAND_DEMO_DIR:-./chand-demo-external}
DEVNET_PORT=${DEVNET_PORT:-3002}
ALICE_PORT=${ALICE_PORT:-9735}
ALICE_RPC=${ALICE_RPC:-8227}
BOB_PORT=${BOB_PORT:-9736}
BOB_RPC=${BOB_RPC:-8228}
ESPLORA=http://127.0.0.1:$DEVNET_PORT
SIGNER=(--wallet "$DEMO/signer.json" --esplora "$ESPLORA")

# One node process per command (no npm wrapper), so $! is the process itself. CHAND_CMD (a
# shell command line, words quoted for the shell) runs chand some other way; the tests set it
# to the CLI compiled for their run.
export CHAND_CMD=${CHAND_CMD:-node --import tsx src/cli/main.ts}
chand() { eval "exec $CHAND_CMD \"\$@\""; }
pids=()
alice_pid=
cleanup() {
  for pid in "${pids[@]}" $alice_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" $alice_pid; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
step() { printf '\n== %s\n' "$*"; }
# Retries "$@" once a second, at most 60 times.
retry() { for _ in $(seq 1 60); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 1; done; echo "gave up: $*" >&2; return 1; }
start_alice() {
  (chand node start --datadir "$DEMO/alice" --esplora "$ESPLORA" --listen "127.0.0.1:$ALICE_PORT" --rpc "127.0.0.1:$ALICE_RPC" --min-depth 1 --chain-poll-ms 500) >>"$DEMO/alice.log" 2>&1 &
  alice_pid=$!
  retry bash -c "$(declare -f chand); chand info --datadir '$DEMO/alice'"
}

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "start the devnet chain and two nodes (logs in $DEMO/*.log)"
(chand devnet --port "$DEVNET_PORT" --datadir "$DEMO/devnet") >"$DEMO/devnet.log" 2>&1 & pids+=($!)
(chand node start --datadir "$DEMO/bob" --esplora "$ESPLORA" --listen "127.0.0.1:$BOB_PORT" --rpc "127.0.0.1:$BOB_RPC" --min-depth 1 --chain-poll-ms 500) >"$DEMO/bob.log" 2>&1 & pids+=($!)
start_alice
retry bash -c "$(declare -f chand); chand info --datadir '$DEMO/bob'"
echo "alice: pid $alice_pid"

step "create the external signer's wallet and fund it from the devnet faucet"
(chand signer create "${SIGNER[@]}")
SIGNER_ADDRESS=$( (chand signer address "${SIGNER[@]}") )
(chand devnet faucet --url "$ESPLORA" "$SIGNER_ADDRESS" 2000000)
(chand devnet mine --url "$ESPLORA" 1)
(chand signer balance "${SIGNER[@]}")

step "connect Alice to Bob"
BOB_ID=$( (chand info --datadir "$DEMO/bob") | sed -n 's/^node_id: //p')
(chand peer connect --datadir "$DEMO/alice" "$BOB_ID@127.0.0.1:$BOB_PORT")

step "Alice opens a 1,000,000 sat channel funded by the signer's coins; the unsigned PSBT goes to $DEMO/funding.psbt"
OPENED=$( (chand channel open --datadir "$DEMO/alice" "$BOB_ID" 1000000 --external --from-address "$SIGNER_ADDRESS" --change-address "$SIGNER_ADDRESS" --fee-rate 2 --psbt-out "$DEMO/funding.psbt") )
echo "$OPENED"
CHANNEL_ID=$(sed -n 's/^channel_id: //p' <<<"$OPENED")
FUNDING_TXID=$(sed -n 's/^funding_txid: //p' <<<"$OPENED")
[[ $CHANNEL_ID =~ ^[0-9a-f]{64}$ && $FUNDING_TXID =~ ^[0-9a-f]{64}$ ]] || { echo "no channel_id or funding_txid in the open's output" >&2; exit 1; }

step "the signer signs the PSBT (to $DEMO/funding.signed.psbt)"
(chand signer sign-psbt "${SIGNER[@]}" "$DEMO/funding.psbt" --out "$DEMO/funding.signed.psbt")

step "kill Alice with SIGKILL (pid $alice_pid) and start her again"
kill -KILL "$alice_pid"
wait "$alice_pid" 2>/dev/null || true
start_alice
echo "alice: pid $alice_pid"
(chand channel funding --datadir "$DEMO/alice" "$CHANNEL_ID") | grep -v '^psbt: '

step "submit the signed PSBT to the restarted Alice"
(chand channel submit-psbt --datadir "$DEMO/alice" "$CHANNEL_ID" "$DEMO/funding.signed.psbt") | grep -v '^psbt: '
# Mine once the chain has the funding transaction (submit stores it, then broadcasts it).
retry curl -sf "$ESPLORA/tx/$FUNDING_TXID/hex"
echo "the devnet has the funding transaction $FUNDING_TXID"

step "confirm the funding transaction"
(chand devnet mine --url "$ESPLORA" 1)
retry bash -c "$(declare -f chand); chand channel list --datadir '$DEMO/alice' | grep -q '^$CHANNEL_ID  open '"
retry bash -c "$(declare -f chand); chand channel list --datadir '$DEMO/bob' | grep -q '^$CHANNEL_ID  open '"

step "the channel, as Alice and Bob list it"
ALICE_LIST=$( (chand channel list --datadir "$DEMO/alice") )
BOB_LIST=$( (chand channel list --datadir "$DEMO/bob") )
echo "$ALICE_LIST"
echo "$BOB_LIST"
(chand channel funding --datadir "$DEMO/alice" "$CHANNEL_ID") | grep -v '^psbt: ' || true
(chand signer balance "${SIGNER[@]}")
grep -q "^$CHANNEL_ID  open " <<<"$ALICE_LIST" && grep -q "^$CHANNEL_ID  open " <<<"$BOB_LIST"
echo "external funding across a restart: channel $CHANNEL_ID is open on both nodes"
