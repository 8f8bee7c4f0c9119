#!/usr/bin/env bash
# The e2e build farm: two Docker engines of different versions (as two hosts would be), QEMU for arm,
# a registry and an sshd on 127.0.0.1, two standalone buildkitd on TCP with mutual TLS (BuildKit nodes), a
# local BuildKit image for buildx's docker-container driver and a
# multi-platform busybox base image in the registry. Run as root on a Debian 12 machine:
#
#   e2e/farm/farm.sh up      bring everything up; whatever is already up is reused
#   e2e/farm/farm.sh env     print the farm's coordinates (KEY=value lines)
#   e2e/farm/farm.sh status  exit 0 only when every part answers
#   e2e/farm/farm.sh down    stop the engines, the registry and sshd (their data is kept)
#
# Nothing is pulled from the internet: packages come from Debian, binaries build from the Go modules
# under tools/ (cached), images are assembled locally.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

FARM_ROOT=${FARM_ROOT:-/var/lib/multiarch-farm}
FARM_RUN=${FARM_RUN:-/run/multiarch-farm}
REGISTRY=${FARM_REGISTRY:-127.0.0.1:5000}
AUTH_REGISTRY=${FARM_AUTH_REGISTRY:-127.0.0.1:5001} # the same, but every call needs a login
BIN=$FARM_ROOT/bin
BUILDKIT_VERSION=$(awk '$1 == "github.com/moby/buildkit" {print $2}' "$here/tools/buildkit/go.mod")
BUILDKIT_IMAGE=multiarch-farm/buildkit:$BUILDKIT_VERSION
BUILDX_DEFAULT_BUILDKIT_IMAGE=moby/buildkit:buildx-stable-1 # buildx's driver/bkimage.DefaultImage
BUSYBOX_REF=$REGISTRY/farm/busybox:latest
ENGINES=(a b) # a: Debian's dockerd 20.10; b: current dockerd built from github.com/moby/moby/v2
SSH_PORT=${FARM_SSH_PORT:-2222}
TLS_PORT=${FARM_TLS_PORT:-2376} # engine b also listens on tcp://127.0.0.1:$TLS_PORT, TLS-verified
TLS_DIR=$FARM_ROOT/tls
PACKAGES=(docker.io containerd runc qemu-user-static libseccomp-dev pkg-config curl ca-certificates openssh-server openssh-client openssl chromium) # chromium: the report tests' browser

# shellcheck source=buildkitd.sh
. "$here/buildkitd.sh" # the standalone buildkitds

log() { echo "farm: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

sock() { echo "$FARM_RUN/$1/docker.sock"; }
engine_host() { echo "unix://$(sock "$1")"; }
dockerx() { # dockerx ENGINE ARGS...: the docker CLI against one farm engine
	local e=$1
	shift
	DOCKER_CONFIG=$FARM_ROOT/client docker -H "$(engine_host "$e")" "$@"
}
engine_up() { dockerx "$1" version >/dev/null 2>&1; }
registry_up() { curl -fsS -o /dev/null "http://${1:-$REGISTRY}/v2/" 2>/dev/null; }
auth_registry_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$AUTH_REGISTRY/v2/")" = 401 ]; }
sshd_up() { (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; }

apt_update() {
	# A mirror index mid-sync can fail an update while installs still work: retry, then go on.
	local i
	for i in 1 2 3; do
		apt-get update -qq >/dev/null 2>&1 && return 0
		sleep 3
	done
	log "apt-get update failed three times; trying the installs anyway"
}

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# busybox_for ARCH: a static busybox for a Debian architecture, unpacked from Debian's busybox-static.
busybox_for() {
	local arch=$1 dir=$FARM_ROOT/busybox/$1
	if [ ! -x "$dir/bin/busybox" ]; then
		dpkg --print-foreign-architectures | grep -qx "$arch" || [ "$arch" = "$(dpkg --print-architecture)" ] ||
			{ dpkg --add-architecture "$arch" && apt_update; }
		mkdir -p "$dir"
		(cd "$dir" && rm -f ./*.deb && apt-get -o APT::Sandbox::User=root download -qq "busybox-static:$arch" >/dev/null &&
			dpkg-deb -x ./busybox-static_*.deb . && rm -f ./*.deb) ||
			die "could not fetch busybox-static:$arch"
	fi
	echo "$dir/bin/busybox"
}

setup_binfmt() {
	local bm=/proc/sys/fs/binfmt_misc arch conf name rest
	mountpoint -q $bm || mount -t binfmt_misc binfmt_misc $bm
	for arch in aarch64 arm; do
		name=qemu-$arch
		if [ -e "$bm/$name" ]; then
			grep -q "^flags: P.*F" "$bm/$name" && grep -q "interpreter /usr/bin/qemu-$arch-static" "$bm/$name" && continue
			echo -1 >"$bm/$name" # not the static, pre-opened, argv0-preserving interpreter: replace it
		fi
		conf=$(cat "/usr/lib/binfmt.d/$name.conf")
		# :name:type:offset:magic:mask:interpreter:flags -> the static interpreter, opened now (F), so
		# it also works inside containers and BuildKit, and given the original argv[0] (P): busybox
		# picks its applet by argv[0], and its shell runs applets through /proc/self/exe.
		rest=${conf%:*:*}
		printf '%s' "$rest:/usr/bin/qemu-$arch-static:FP" >$bm/register
	done
}

# needs_capwrap: this VM's capability bounding set lacks CAP_SYS_RESOURCE (bit 24), which privileged
# containers (buildx's BuildKit) ask for.
needs_capwrap() {
	local bnd
	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
	(((16#$bnd >> 24 & 1) == 0))
}

# runtime_for ENGINE RUNC: the runtime binary an engine runs containers with.
runtime_for() {
	local e=$1 runc=$2
	if ! needs_capwrap; then
		echo "$runc"
		return
	fi
	local wrapper=$FARM_ROOT/$e/runc-capwrap
	mkdir -p "$FARM_ROOT/$e"
	printf '#!/bin/sh\nexec %s capwrap %s "$@"\n' "$BIN/farmctl" "$runc" >"$wrapper"
	chmod 755 "$wrapper"
	echo "$wrapper"
}

# make_certs DIR CA_CN SERVER_CN SERVER_SAN CLIENT_CN: in DIR (once), a CA (ca.pem), a server
# certificate (server-cert.pem, server-key.pem) for SERVER_SAN and a client certificate (cert.pem,
# key.pem) signed by it; the keys 0600.
make_certs() {
	local dir=$1 ca_cn=$2 server_cn=$3 san=$4 client_cn=$5
	[ -f "$dir/key.pem" ] && return 0
	mkdir -p "$dir"
	(
		cd "$dir"
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$ca_cn" -keyout ca-key.pem -out ca.pem 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$server_cn" -keyout server-key.pem -out server.csr 2>/dev/null
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out server-cert.pem 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$client_cn" -keyout key.pem -out client.csr 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile client.ext -out cert.pem 2>/dev/null
		rm -f ./*.csr ./*.ext
		chmod 600 ./*key.pem
	)
}

# tls_certs: a CA, a server certificate for 127.0.0.1 and a client certificate, as a remote engine
# reached over tcp:// with --tlsverify has them.
tls_certs() { make_certs "$TLS_DIR" farm-ca 127.0.0.1 IP:127.0.0.1 farm-client; }

tls_up() { (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null; }

# start_engine ENGINE DOCKERD RUNC [EXTRA_JSON [EXTRA_FLAGS...]]: one dockerd with its own data, exec
# root, socket and managed containerd, no bridge (only one engine could own docker0), running
# containers with RUNC.
start_engine() {
	local e=$1 dockerd=$2 runc=$3 extra=${4:-}
	local flags=("${@:5}")
	if engine_up "$e"; then
		log "engine $e is up ($(engine_host "$e"))"
		return 0
	fi
	local run=$FARM_RUN/$e data=$FARM_ROOT/$e
	mkdir -p "$run" "$data"
	local pid
	pid=$(cat "$run/dockerd.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		die "engine $e: dockerd (pid $pid) runs but does not answer on $(sock "$e"); see $data/dockerd.log"
	fi
	rm -f "$run/dockerd.pid" "$(sock "$e")"
	cat >"$data/daemon.json" <<-EOF
		{
		  "runtimes": {"farm-runc": {"path": "$(runtime_for "$e" "$runc")"}},
		  "default-runtime": "farm-runc",
		  "bridge": "none",
		  "iptables": false,
		  "ip-masq": false$extra
		}
	EOF
	log "starting engine $e: $("$dockerd" --version)"
	setsid "$dockerd" --config-file "$data/daemon.json" --data-root "$data/root" --exec-root "$run/exec" \
		--pidfile "$run/dockerd.pid" -H "$(engine_host "$e")" "${flags[@]}" >"$data/dockerd.log" 2>&1 </dev/null &
	local i
	for i in $(seq 1 120); do
		engine_up "$e" && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.5
	done
	tail -n 30 "$data/dockerd.log" >&2
	die "engine $e did not come up"
}

start_registry() {
	if registry_up; then
		log "registry is up (http://$REGISTRY)"
		return 0
	fi
	run_registry registry "$REGISTRY" "" registry_up
}

# start_auth_registry: a second registry that answers only with a login (htpasswd), so credentials
# have to come from the Docker config.
start_auth_registry() {
	local dir=$FARM_ROOT/registry-auth
	mkdir -p "$dir"
	[ -f "$dir/password" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/password"
	[ -f "$dir/htpasswd" ] || "$BIN/farmctl" htpasswd "$dir/htpasswd" farm "$(cat "$dir/password")"
	if auth_registry_up; then
		log "registry with login is up (http://$AUTH_REGISTRY)"
		return 0
	fi
	run_registry registry-auth "$AUTH_REGISTRY" "$(printf 'auth:\n  htpasswd:\n    realm: farm\n    path: %s\n' "$dir/htpasswd")" auth_registry_up
}

# run_registry NAME ADDR EXTRA_CONFIG UP_CHECK: one distribution registry with filesystem storage.
run_registry() {
	local name=$1 addr=$2 extra=$3 up=$4 dir=$FARM_ROOT/$1
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<-EOF
		version: 0.1
		log:
		  level: warn
		storage:
		  filesystem:
		    rootdirectory: $dir/data
		  delete:
		    enabled: true
		http:
		  addr: $addr
		$extra
	EOF
	log "starting $name on $addr"
	setsid "$BIN/registry" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
	local i
	for i in $(seq 1 60); do
		$up && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.5
	done
	tail -n 30 "$dir/registry.log" >&2
	die "$name did not come up"
}

# start_sshd: an sshd on 127.0.0.1:$SSH_PORT with key authentication only, so nodes can be reached
# over ssh:// as remote engines are (the remote side runs `docker system dial-stdio`).
start_sshd() {
	local dir=$FARM_ROOT/ssh
	mkdir -p "$dir" /run/sshd
	[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C farm-host -f "$dir/host_ed25519"
	[ -f "$dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C farm-client -f "$dir/client_ed25519"
	cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
	chmod 600 "$dir/authorized_keys"
	if sshd_up; then
		log "sshd is up (127.0.0.1:$SSH_PORT)"
		return 0
	fi
	cat >"$dir/sshd_config" <<-EOF
		ListenAddress 127.0.0.1
		Port $SSH_PORT
		HostKey $dir/host_ed25519
		PidFile $FARM_RUN/sshd.pid
		AuthorizedKeysFile $dir/authorized_keys
		PermitRootLogin prohibit-password
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
	EOF
	log "starting sshd on 127.0.0.1:$SSH_PORT"
	mkdir -p "$FARM_RUN"
	/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" || { cat "$dir/sshd.log" >&2; die "sshd did not start"; }
	local i
	for i in $(seq 1 20); do
		sshd_up && return 0
		sleep 0.25
	done
	die "sshd does not answer on 127.0.0.1:$SSH_PORT"
}

# buildkit_image ENGINE: import the BuildKit image (buildkitd, buildctl, static runc, busybox) unless
# the engine already has this exact build of it.
buildkit_image() {
	local e=$1 key
	key=$(readlink -f "$BIN/buildkitd" "$BIN/buildctl" "$BIN/runc" | sha256sum | cut -c1-16)
	# Also under buildx's default name: a builder made without image= (as docker multiarch makes on a
	# context with the classic image store) falls back to this local image when the pull fails.
	if [ "$(dockerx "$e" image inspect -f '{{index .Config.Labels "farm.key"}}' "$BUILDKIT_IMAGE" 2>/dev/null)" = "$key" ]; then
		dockerx "$e" tag "$BUILDKIT_IMAGE" "$BUILDX_DEFAULT_BUILDKIT_IMAGE"
		return 0
	fi
	local root=$FARM_ROOT/buildkit-rootfs
	rm -rf "$root" && mkdir -p "$root"/{usr/bin,bin,etc/buildkit,var/lib/buildkit,tmp,root,run}
	cp "$BIN/buildkitd" "$BIN/buildctl" "$BIN/runc" "$root/usr/bin/"
	cp "$(busybox_for "$(dpkg --print-architecture)")" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	chmod 1777 "$root/tmp"
	log "importing $BUILDKIT_IMAGE into engine $e"
	tar -C "$root" -c . | dockerx "$e" import \
		--change 'ENTRYPOINT ["buildkitd"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'VOLUME /var/lib/buildkit' \
		--change "LABEL farm.key=$key" \
		- "$BUILDKIT_IMAGE" >/dev/null
	dockerx "$e" tag "$BUILDKIT_IMAGE" "$BUILDX_DEFAULT_BUILDKIT_IMAGE"
}

# seed_busybox: a linux/amd64, linux/arm64, linux/arm/v7 busybox index at $BUSYBOX_REF.
seed_busybox() {
	local amd64 arm64 armhf applets=$FARM_ROOT/busybox/applets
	amd64=$(busybox_for amd64)
	arm64=$(busybox_for arm64)
	armhf=$(busybox_for armhf)
	"$amd64" --list >"$applets"
	"$BIN/farmctl" seed --ref "$BUSYBOX_REF" --applets "$applets" \
		"linux/amd64=$amd64" "linux/arm64=$arm64" "linux/arm/v7=$armhf"
}

# seed_sbom_scanner: BuildKit's SBOM generator cannot be pulled here, so the farm serves a small one
# (farmctl seed --sbom-scanner) under the real scanner's name, docker/buildkit-syft-scanner, and a
# BuildKit config whose registry mirror for docker.io is the farm registry: `--sbom true` then
# works as users type it, on builders created with that config (FARM_BUILDKITD_CONFIG).
seed_sbom_scanner() {
	local applets=$FARM_ROOT/busybox/applets
	"$BIN/farmctl" seed --sbom-scanner --ref "$REGISTRY/docker/buildkit-syft-scanner:stable-1" --applets "$applets" \
		"linux/amd64=$(busybox_for amd64)" "linux/arm64=$(busybox_for arm64)" "linux/arm/v7=$(busybox_for armhf)"
	cat >"$FARM_ROOT/buildkitd.toml" <<-EOF
		[registry."docker.io"]
		  mirrors = ["$REGISTRY"]
		[registry."$REGISTRY"]
		  http = true
		  insecure = true
	EOF
}

write_env() {
	mkdir -p "$FARM_RUN"
	{
		echo "FARM_ENGINE_A=$(engine_host a)"
		echo "FARM_ENGINE_A_VERSION=$(dockerx a version -f '{{.Server.Version}}')"
		echo "FARM_ENGINE_B=$(engine_host b)"
		echo "FARM_ENGINE_B_VERSION=$(dockerx b version -f '{{.Server.Version}}')"
		echo "FARM_REGISTRY=$REGISTRY"
		echo "FARM_AUTH_REGISTRY=$AUTH_REGISTRY"
		echo "FARM_AUTH_USER=farm"
		echo "FARM_AUTH_PASSWORD_FILE=$FARM_ROOT/registry-auth/password"
		echo "FARM_BUILDKIT_IMAGE=$BUILDKIT_IMAGE"
		echo "FARM_BUSYBOX=$BUSYBOX_REF"
		echo "FARM_BUILDKITD_CONFIG=$FARM_ROOT/buildkitd.toml"
		echo "FARM_BIN=$BIN"
		echo "FARM_ENGINE_B_TLS=tcp://127.0.0.1:$TLS_PORT"
		echo "FARM_TLS_DIR=$TLS_DIR"
		echo "FARM_SSH=ssh://root@127.0.0.1:$SSH_PORT"
		echo "FARM_BUILDKIT_A=$(buildkitd_addr a)"
		echo "FARM_BUILDKIT_B=$(buildkitd_addr b)"
		echo "FARM_BUILDKIT_TLS_DIR=$BUILDKIT_TLS_DIR"
		echo "FARM_SSH_KEY=$FARM_ROOT/ssh/client_ed25519"
		echo "FARM_SSH_HOST_KEY=$FARM_ROOT/ssh/host_ed25519.pub"
	} >"$FARM_RUN/env.tmp"
	mv "$FARM_RUN/env.tmp" "$FARM_RUN/env"
}

up() {
	[ "$(id -u)" = 0 ] || die "the farm needs root (it starts dockerd and registers binfmt handlers)"
	mkdir -p "$FARM_ROOT/client" "$BIN"
	install_packages
	setup_binfmt
	bash "$here/build-tools.sh" "$BIN"
	start_engine a /usr/sbin/dockerd /usr/sbin/runc
	# The current engine uses the containerd image store, as fresh installs of Docker 29 do, and is
	# also reached over tcp:// with TLS.
	tls_certs
	start_engine b "$BIN/dockerd" "$BIN/runc" ', "features": {"containerd-snapshotter": true}' \
		-H "tcp://127.0.0.1:$TLS_PORT" --tlsverify --tlscacert "$TLS_DIR/ca.pem" \
		--tlscert "$TLS_DIR/server-cert.pem" --tlskey "$TLS_DIR/server-key.pem"
	tls_up || die "engine b does not listen on tcp://127.0.0.1:$TLS_PORT (stop the farm and bring it up again)"

	start_registry
	start_auth_registry
	start_sshd
	local e
	for e in "${ENGINES[@]}"; do buildkit_image "$e"; done
	seed_busybox
	seed_sbom_scanner
	buildkit_certs
	for e in "${BUILDKITDS[@]}"; do start_buildkitd "$e"; done
	write_env
	log "up: engines $(engine_host a) ($(dockerx a version -f '{{.Server.Version}}')) and" \
		"$(engine_host b) ($(dockerx b version -f '{{.Server.Version}}')), registry http://$REGISTRY"
}

status() {
	local e ok=0
	for e in "${ENGINES[@]}"; do
		if engine_up "$e"; then echo "engine $e: up ($(engine_host "$e"))"; else echo "engine $e: down" && ok=1; fi
	done
	if registry_up; then echo "registry: up (http://$REGISTRY)"; else echo "registry: down" && ok=1; fi
	if auth_registry_up; then echo "registry with login: up (http://$AUTH_REGISTRY)"; else echo "registry with login: down" && ok=1; fi
	if sshd_up; then echo "sshd: up (127.0.0.1:$SSH_PORT)"; else echo "sshd: down" && ok=1; fi
	for e in "${BUILDKITDS[@]}"; do
		if buildkitd_up "$e"; then echo "buildkitd $e: up ($(buildkitd_addr "$e"))"; else echo "buildkitd $e: down" && ok=1; fi
	done
	return $ok
}

down() {
	local e pid
	for e in "${ENGINES[@]}"; do
		pid=$(cat "$FARM_RUN/$e/dockerd.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && log "stopping engine $e"
		while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	done
	pkill -f "$BIN/registry serve" 2>/dev/null && log "stopping the registries" || true
	for e in "${BUILDKITDS[@]}"; do
		pid=$(cat "$FARM_RUN/buildkitd-$e/buildkitd.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null && log "stopping buildkitd $e"
		while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	done
	pid=$(cat "$FARM_RUN/sshd.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && log "stopping sshd" || true
}

[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0 # sourced: functions only
case "${1:-up}" in
up) up ;;
env) cat "$FARM_RUN/env" ;;
status) status ;;
down) down ;;
*) die "usage: $0 up|env|status|down" ;;
esac
