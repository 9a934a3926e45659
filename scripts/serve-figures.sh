#!/usr/bin/env bash
# Reproduces the README's "Serving" figures in one go, on loopback:
#
#   1. builds denseserve and densebench, writes the two model repositories
#      (densebench load -write-repos: batching on and off, models mlp and
#      seed) and starts one server on each;
#   2. runs the in-process batcher (densebench batcher) on both models, for
#      the server's ratio to it;
#   3. runs densebench load, 64 clients, single-sample requests, binary
#      tensors, gRPC and REST, each model, batching on and off alternated,
#      ROUNDS rounds of DURATION each;
#   4. runs LONG (60 s) loads on the batched server, gRPC and REST, each
#      model, with the server's resident memory at 10 s and at the end;
#   5. prints a summary: samples/s, batched over unbatched, p50/p99, the
#      ratio to the in-process batcher, failures and memory.
#
# Usage: scripts/serve-figures.sh [OUT]   (default OUT /tmp/serve-figures)
# Environment: DURATION (10s), ROUNDS (2), LONG (60s; "0" skips step 4),
# CONCURRENCY (64), PORT (18200: batched on PORT and PORT+1, unbatched on
# PORT+100 and PORT+101), BATCHED_CONFIG (a config.json for both batched
# models in place of the one densebench writes, to compare settings).
# Every result is one JSON line in OUT/results.jsonl.
# Run it on a machine as quiet as you can make it: the load generator and
# both servers share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/serve-figures}
duration=${DURATION:-10s}
rounds=${ROUNDS:-2}
long=${LONG:-60s}
conc=${CONCURRENCY:-64}
port=${PORT:-18200}
mkdir -p "$out"
res="$out/results.jsonl"
: >"$res"

go build -o "$out/denseserve" ./cmd/denseserve
go build -o "$out/densebench" ./cmd/densebench
rm -rf "$out/repos"
"$out/densebench" load -write-repos "$out/repos" >/dev/null
if [ -n "${BATCHED_CONFIG:-}" ]; then
	for m in mlp seed; do
		printf '%s\n' "$BATCHED_CONFIG" >"$out/repos/batched/$m/config.json"
	done
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

declare -A httpPort grpcPort pid
httpPort[batched]=$port
grpcPort[batched]=$((port + 1))
httpPort[unbatched]=$((port + 100))
grpcPort[unbatched]=$((port + 101))
for s in batched unbatched; do
	"$out/denseserve" -models "$out/repos/$s" -http "127.0.0.1:${httpPort[$s]}" -grpc "127.0.0.1:${grpcPort[$s]}" 2>"$out/$s.log" &
	pid[$s]=$!
	pids+=($!)
done
for s in batched unbatched; do
	for _ in $(seq 300); do
		curl -sf "http://127.0.0.1:${httpPort[$s]}/v2/health/ready" >/dev/null && break
		kill -0 "${pid[$s]}" || { cat "$out/$s.log"; exit 1; }
		sleep 1
	done
	curl -sf "http://127.0.0.1:${httpPort[$s]}/v2/health/ready" >/dev/null || { echo "the $s server did not get ready" >&2; exit 1; }
done

mlp="Dense(512, activation='relu', input_shape=(784,)); Dense(256, activation='gelu'); Dense(10, activation='softmax')"
seed="Dense(512, activation='relu', input_shape=(32, 32, 3)); Dense(10, activation='softmax')"

# load SERVER MODEL PROTO DURATION [flags...]: one densebench load, its
# JSON line tagged with the server and model and appended to results.
load() {
	local s=$1 m=$2 proto=$3 d=$4
	shift 4
	local target
	if [ "$proto" = grpc ]; then
		target=(-grpc "127.0.0.1:${grpcPort[$s]}")
	else
		target=(-url "http://127.0.0.1:${httpPort[$s]}")
	fi
	local line
	line=$("$out/densebench" load "${target[@]}" -model "$m" -binary -concurrency "$conc" -duration "$d" -json "$@" || true)
	[ -n "$line" ] || line='{"kind":"load","failures":-1}'
	echo "{\"server\":\"$s\",\"name\":\"$m\",${line#\{}" >>"$res"
	echo "$s $m $proto $d: $line" >&2
}

# Warm-up: every server, model and protocol once, not recorded.
for s in batched unbatched; do
	for m in mlp seed; do
		for proto in grpc rest; do
			"$out/densebench" load $([ $proto = grpc ] && echo -grpc "127.0.0.1:${grpcPort[$s]}" || echo -url "http://127.0.0.1:${httpPort[$s]}") \
				-model "$m" -binary -concurrency "$conc" -duration 2s >/dev/null
		done
	done
done

# The in-process batcher, with the servers idle.
for m in mlp seed; do
	spec=$mlp
	[ "$m" = seed ] && spec=$seed
	line=$("$out/densebench" batcher -spec "$spec" -concurrency "$conc" -json -no-progress)
	echo "{\"server\":\"in-process\",\"name\":\"$m\",${line#\{}" >>"$res"
	echo "in-process $m: $line" >&2
done

# Batched and unbatched alternated, the order swapped every round.
for r in $(seq "$rounds"); do
	order=(batched unbatched)
	[ $((r % 2)) -eq 0 ] && order=(unbatched batched)
	for m in mlp seed; do
		for proto in grpc rest; do
			for s in "${order[@]}"; do
				load "$s" "$m" "$proto" "$duration"
			done
		done
	done
done

# The long runs: failures and the batched server's memory.
if [ "$long" != 0 ]; then
	for m in mlp seed; do
		for proto in grpc rest; do
			load batched "$m" "$proto" "$long" -server-pid "${pid[batched]}"
		done
	done
fi

echo
echo "Summary ($res; batched config $(cat "$out/repos/batched/mlp/config.json"); $(nproc) cores, $(uptime | sed 's/.*load average/load average/')):"
awk -v long="$long" '
function num(key,   m) {
	if (match($0, "\"" key "\":-?[0-9.e+-]+")) return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
	return 0
}
function str(key) {
	if (match($0, "\"" key "\":\"[^\"]*\"")) return substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
	return ""
}
{
	s = str("server"); m = str("name"); p = str("protocol"); d = num("duration_s")
	if (s == "in-process") { inproc[m] = num("samples_per_s"); ceil[m] = num("ceiling_samples_per_s"); unb[m] = num("unbatched_samples_per_s"); next }
	if (num("rss_end_mib") > 0 || d > 30) {
		longs[++nl] = sprintf("%-5s %-11s %8.0f samples/s, %d requests, %d failed, p99 %.1f ms, RSS %.1f MiB at 10 s, %.1f MiB at the end", m, p, num("samples_per_s"), num("requests"), num("failures"), num("p99_ms"), num("rss_10s_mib"), num("rss_end_mib"))
		next
	}
	k = m " " p
	if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
	n[k, s]++; sum[k, s] += num("samples_per_s"); fail[k, s] += num("failures")
	if (num("p99_ms") > p99[k, s]) p99[k, s] = num("p99_ms")
	if (num("p50_ms") > p50[k, s]) p50[k, s] = num("p50_ms")
}
END {
	printf "%-5s %-11s %10s %10s %6s %16s %10s %8s\n", "model", "protocol", "batched/s", "off/s", "x", "p50/p99 on (ms)", "of batcher", "failed"
	for (i = 1; i <= nk; i++) {
		k = keys[i]; split(k, a, " ")
		b = n[k, "batched"] ? sum[k, "batched"] / n[k, "batched"] : 0
		u = n[k, "unbatched"] ? sum[k, "unbatched"] / n[k, "unbatched"] : 0
		printf "%-5s %-11s %10.0f %10.0f %6.2f %7.1f / %6.1f %10.2f %8d\n", a[1], a[2], b, u, u ? b / u : 0, p50[k, "batched"], p99[k, "batched"], inproc[a[1]] ? b / inproc[a[1]] : 0, fail[k, "batched"] + fail[k, "unbatched"]
	}
	print "(mean samples/s over the rounds; p50 and p99 the worst round)"
	for (m in inproc) printf "in-process %s: batched %.0f, unbatched %.0f, ceiling (batch 64 back to back) %.0f samples/s: batch 64 does %.2fx batch 1 per sample\n", m, inproc[m], unb[m], ceil[m], unb[m] ? ceil[m] / unb[m] : 0
	for (i = 1; i <= nl; i++) print longs[i]
}' "$res"
