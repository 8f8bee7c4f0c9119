# The farm's standalone buildkitd processes (BuildKit nodes, as a BuildKit pool or a Kubernetes
# Service has them): two on tcp://127.0.0.1:PORT with mutual TLS, their CA their own (not the
# engines'), run as root with their own state and a runc worker. Sourced by farm.sh, whose helpers
# (log, die, runtime_for, make_certs) and variables (BIN, FARM_ROOT, FARM_RUN) they use.
BUILDKITDS=(a b)
declare -A BUILDKITD_PORT=([a]=${FARM_BUILDKITD_A_PORT:-1234} [b]=${FARM_BUILDKITD_B_PORT:-1235})
BUILDKIT_TLS_DIR=$FARM_ROOT/buildkit-tls

# buildkit_certs: the buildkitds' own CA, a server certificate for 127.0.0.1 (and the name
# buildkitd.farm, for --tls-servername) and a client certificate.
buildkit_certs() {
	make_certs "$BUILDKIT_TLS_DIR" farm-buildkit-ca buildkitd.farm IP:127.0.0.1,DNS:buildkitd.farm farm-buildkit-client
}

buildkitd_addr() { echo "tcp://127.0.0.1:${BUILDKITD_PORT[$1]}"; }
# buildctlx NAME ARGS...: buildctl against one farm buildkitd, with the client certificate.
buildctlx() {
	local b=$1
	shift
	"$BIN/buildctl" --addr "$(buildkitd_addr "$b")" --tlscacert "$BUILDKIT_TLS_DIR/ca.pem" \
		--tlscert "$BUILDKIT_TLS_DIR/cert.pem" --tlskey "$BUILDKIT_TLS_DIR/key.pem" "$@"
}
buildkitd_up() { timeout 10 "$BIN/buildctl" --timeout 5 --addr "$(buildkitd_addr "$1")" --tlscacert "$BUILDKIT_TLS_DIR/ca.pem" \
	--tlscert "$BUILDKIT_TLS_DIR/cert.pem" --tlskey "$BUILDKIT_TLS_DIR/key.pem" debug workers >/dev/null 2>&1; }

# start_buildkitd NAME: a standalone buildkitd run as root with its own state, a runc worker (the
# farm's runc, through capwrap where this VM needs it), host networking for RUN, and the farm's
# registry config; it listens only on TCP with mutual TLS.
start_buildkitd() {
	local b=$1 data=$FARM_ROOT/buildkitd-$1 run=$FARM_RUN/buildkitd-$1
	if buildkitd_up "$b"; then
		log "buildkitd $b is up ($(buildkitd_addr "$b"))"
		return 0
	fi
	mkdir -p "$data" "$run"
	local pid
	pid=$(cat "$run/buildkitd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		die "buildkitd $b (pid $pid) runs but does not answer on $(buildkitd_addr "$b"); see $data/buildkitd.log"
	fi
	log "starting buildkitd $b on $(buildkitd_addr "$b")"
	setsid "$BIN/buildkitd" --root "$data/root" --addr "$(buildkitd_addr "$b")" --config "$FARM_ROOT/buildkitd.toml" \
		--tlscacert "$BUILDKIT_TLS_DIR/ca.pem" --tlscert "$BUILDKIT_TLS_DIR/server-cert.pem" --tlskey "$BUILDKIT_TLS_DIR/server-key.pem" \
		--oci-worker=true --containerd-worker=false --oci-worker-net=host \
		--oci-worker-binary "$(runtime_for "buildkitd-$b" "$BIN/runc")" >"$data/buildkitd.log" 2>&1 </dev/null &
	echo $! >"$run/buildkitd.pid"
	local i
	for i in $(seq 1 60); do
		buildkitd_up "$b" && return 0
		kill -0 "$(cat "$run/buildkitd.pid")" 2>/dev/null || break
		sleep 0.5
	done
	tail -n 30 "$data/buildkitd.log" >&2
	die "buildkitd $b did not come up"
}
