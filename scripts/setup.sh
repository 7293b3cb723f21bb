#!/usr/bin/env bash
# setup.sh installs what gantry needs on Debian 12 and builds bin/gantry. It is idempotent and
# quick when everything is already there: it checks before it installs.
#
#   scripts/setup.sh            install the packages, then build bin/gantry
#   scripts/setup.sh install    install the packages only (what `make test` runs)
#
# GANTRY_WITH_GVISOR=1 (or --with-gvisor) also builds gVisor's runsc into /usr/local/bin when
# it is missing.
set -euo pipefail

export PATH="/usr/local/go/bin:$PATH"
cd "$(dirname "$0")/.."

mode=all
for arg in "$@"; do
	case "$arg" in
	install) mode=install ;;
	--with-gvisor) GANTRY_WITH_GVISOR=1 ;;
	*) echo "usage: $0 [install] [--with-gvisor]" >&2; exit 2 ;;
	esac
done

# Debian packages: the sandbox runtime, the VPC data plane, mkfs.ext4 for the tasks' ephemeral
# storage (e2fsprogs), the etcd tests run against, a static busybox for test images, and haproxy
# as the load balancer benchmarks' peer.
# awscli is Debian's aws CLI v2 (/usr/bin/aws): the tests use it for `aws logs tail`, which the
# v1 CLI lacks; the aws on PATH (v1 here) is used for everything else.
packages=(runc nftables iproute2 e2fsprogs etcd-server busybox-static haproxy file awscli)
gvisor_version=v0.0.0-20260905035102-160fafc42237

log() { echo "setup: $*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		log "need root to run: $*"
		exit 1
	fi
}

install_packages() {
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "packages already installed"
		return
	fi
	log "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_gvisor() {
	# runsc must be static: its sandbox pivots into an empty root and re-executes itself there,
	# where a dynamic binary's loader does not exist (execve fails with ENOENT).
	if command -v runsc >/dev/null && ! file -L "$(command -v runsc)" | grep -q "dynamically linked"; then
		log "runsc already installed: $(command -v runsc)"
		return
	fi
	log "building gVisor runsc $gvisor_version, statically (takes a few minutes)"
	# Outside the module, so that go.mod is not touched.
	(cd /tmp && as_root env PATH="$PATH" GOFLAGS= GOWORK=off CGO_ENABLED=0 GOBIN=/usr/local/bin \
		go install "gvisor.dev/gvisor/runsc@$gvisor_version")
}

check_go() {
	if ! command -v go >/dev/null; then
		log "go is missing: install Go at /usr/local/go (see go.mod for the version)"
		exit 1
	fi
}

check_go
install_packages
if [ "${GANTRY_WITH_GVISOR:-0}" = 1 ]; then
	install_gvisor
fi
if [ "$mode" = all ]; then
	log "building bin/gantry"
	CGO_ENABLED=0 go build -o bin/gantry ./cmd/gantry
	CGO_ENABLED=0 go build -o bin/gantry-shim ./cmd/gantry-shim
fi
