#!/usr/bin/env bash
# The chand walk-through: a local devnet chain and two nodes on 127.0.0.1; Alice funds her
# wallet from the devnet faucet, connects to Bob, opens a 1,000,000 sat channel, the chain
# confirms it, and both list it; Alice pays an invoice of Bob's, Bob pays some back by keysend.
# Every process it starts is stopped (by PID) when it ends.
# The README shows the same steps by hand; test/readme-walkthrough.test.ts runs this script.
#
# Ports and the demo directory can be moved: DEVNET_PORT, ALICE_PORT, ALICE_RPC, BOB_PORT,
# BOB_RPC, CHAND_DEMO_DIR (default ./chand-demo, recreated on each run).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=${CHAND_DEMO_DIR:-./chand-demo}
DEVNET_PORT=${DEVNET_PORT:-3002}
ALICE_PORT=${ALICE_PORT:-9735}
ALICE_RPC=${ALICE_RPC:-8227}
BOB_PORT=${BOB_PORT:-9736}
BOB_RPC=${BOB_RPC:-8228}
ESPLORA=http://127.0.0.1:$DEVNET_PORT

# One node process per command (no npm wrapper), so $! is the process itself. CHAND_CMD (a
# shell command line, words quoted for the shell) runs chand some other way; the tests set it
# to the CLI compiled for their run.
export CHAND_CMD=${CHAND_CMD:-node --import tsx src/cli/main.ts}
chand() { eval "exec $CHAND_CMD \"\$@\""; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
step() { printf '\n== %s\n' "$*"; }
# Retries "$@" once a second, at most 60 times.
retry() { for _ in $(seq 1 60); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 1; done; echo "gave up: $*" >&2; return 1; }

rm -rf "$DEMO"
mkdir -p "$DEMO"

step "start the devnet chain and two nodes (logs in $DEMO/*.log)"
(chand devnet --port "$DEVNET_PORT" --datadir "$DEMO/devnet") >"$DEMO/devnet.log" 2>&1 & pids+=($!)
(chand node start --datadir "$DEMO/alice" --esplora "$ESPLORA" --listen "127.0.0.1:$ALICE_PORT" --rpc "127.0.0.1:$ALICE_RPC" --min-depth 1 --chain-poll-ms 500) >"$DEMO/alice.log" 2>&1 & pids+=($!)
(chand node start --datadir "$DEMO/bob" --esplora "$ESPLORA" --listen "127.0.0.1:$BOB_PORT" --rpc "127.0.0.1:$BOB_RPC" --min-depth 1 --chain-poll-ms 500) >"$DEMO/bob.log" 2>&1 & pids+=($!)
retry bash -c "$(declare -f chand); chand info --datadir '$DEMO/alice'"
retry bash -c "$(declare -f chand); chand info --datadir '$DEMO/bob'"
(chand info --datadir "$DEMO/bob")

step "fund Alice's wallet from the devnet faucet and mine a block"
ADDRESS=$( (chand wallet address --datadir "$DEMO/alice") )
(chand devnet faucet --url "$ESPLORA" "$ADDRESS" 2000000)
(chand devnet mine --url "$ESPLORA" 1)
(chand wallet balance --datadir "$DEMO/alice")

step "connect Alice to Bob"
BOB_ID=$( (chand info --datadir "$DEMO/bob") | sed -n 's/^node_id: //p')
(chand peer connect --datadir "$DEMO/alice" "$BOB_ID@127.0.0.1:$BOB_PORT")

step "open a 1,000,000 sat channel and confirm it"
(chand channel open --datadir "$DEMO/alice" "$BOB_ID" 1000000)
(chand devnet mine --url "$ESPLORA" 1)
retry bash -c "$(declare -f chand); chand channel list --datadir '$DEMO/bob' | grep -q ' open '"
retry bash -c "$(declare -f chand); chand channel list --datadir '$DEMO/alice' | grep -q ' open '"

step "the channel, as Alice and Bob list it"
(chand channel list --datadir "$DEMO/alice")
(chand channel list --datadir "$DEMO/bob")
(chand wallet balance --datadir "$DEMO/alice")

step "Bob issues an invoice for 50,000 sat; Alice pays it"
INVOICE=$( (chand invoice new --datadir "$DEMO/bob" 50000000 --description "walk-through coffee") | head -1)
echo "$INVOICE"
# The channel takes payments once both sides have it open; the first try may come a moment early.
retry bash -c "$(declare -f chand); chand pay --datadir '$DEMO/alice' '$INVOICE' || chand payment list --datadir '$DEMO/alice' | grep -q succeeded"
(chand payment list --datadir "$DEMO/alice")
(chand invoice list --datadir "$DEMO/bob")

step "Bob pays 1,000 sat back to Alice by keysend"
ALICE_ID=$( (chand info --datadir "$DEMO/alice") | sed -n 's/^node_id: //p')
(chand pay --datadir "$DEMO/bob" --keysend "$ALICE_ID" 1000000)

step "the balances after both payments"
(chand channel list --datadir "$DEMO/alice")
(chand channel list --datadir "$DEMO/bob")

step "Alice closes the channel cooperatively; six blocks confirm it"
CHANNEL_ID=$( (chand channel list --datadir "$DEMO/alice") | awk '$2 == "open" {print $1}' | head -1)
(chand channel close --datadir "$DEMO/alice" "$CHANNEL_ID")
retry bash -c "$(declare -f chand); chand channel list --datadir '$DEMO/alice' | grep -q ' closing '"
(chand devnet mine --url "$ESPLORA" 6)
retry bash -c "$(declare -f chand); chand channel closed --datadir '$DEMO/alice' | grep -q 'cooperative close'"
retry bash -c "$(declare -f chand); chand channel closed --datadir '$DEMO/bob' | grep -q 'cooperative close'"
(chand channel closed --datadir "$DEMO/alice")

step "the wallets after the close"
retry bash -c "$(declare -f chand); chand wallet balance --datadir '$DEMO/bob' | grep -q 'confirmed_sat: 49000$'"
(chand wallet balance --datadir "$DEMO/alice")
(chand wallet balance --datadir "$DEMO/bob")
