#!/bin/sh
# Prints every figure of the "Ingest and delivery" section of docs/benchmarks.md, one run of
# examples/ingest_load.rs per figure, each bounded to 10 s of load plus the drain after it.
#
#   scripts/load-figures.sh            # all figures
#   scripts/load-figures.sh ingest     # ingest only
#   scripts/load-figures.sh delivery   # ingest with delivery to a local sink only
#
# Everything runs on 127.0.0.1 in a temporary directory that is removed afterwards. Run it on an
# otherwise idle machine: the load client, sluice and the sink share its cores.
set -eu
cd "$(dirname "$0")/.."

which="${1:-all}"
case "$which" in
    all | ingest | delivery) ;;
    *)
        echo "load-figures.sh: unknown part '$which'; expected ingest, delivery or nothing" >&2
        exit 2
        ;;
esac

cargo build --quiet --release --example ingest_load

run() {
    echo "== cargo run --release --example ingest_load -- $*"
    cargo run --quiet --release --example ingest_load -- "$@"
    echo
}

if [ "$which" != delivery ]; then
    run --events-per-request 1
    run --events-per-request 1 --connections 256
    run --events-per-request 100
    run --events-per-request 1000 --connections 8
fi
if [ "$which" != ingest ]; then
    run --events-per-request 1 --deliver single
    run --events-per-request 1 --connections 256 --deliver batched
    run --events-per-request 100 --deliver batched
fi
