#!/usr/bin/env bash
# image-check.sh - proves the worker image (Dockerfile) without a container
# engine: `make image-check`. Not part of `make test`: it downloads Debian
# packages and needs root (debootstrap, chroot, namespaces).
#
# 1. spec      scripts/image/imagespec.py reads the Dockerfile and the ECS
#              task definition (terraform/ecs.tf) and stops here if they
#              disagree (user, entrypoint, health check, stop signal,
#              environment).
# 2. base      the runtime stage's base image, debian:<suite>-slim, rebuilt
#              as Debian builds it: debootstrap --variant=minbase <suite>,
#              debuerreotype's minimizing apt/dpkg configuration, the apt
#              sources Debian's images ship (<suite>, -updates, -security),
#              dist-upgraded, and for -slim the documentation, man pages and
#              locales left out as debuerreotype's "slimify" does.
# 3. stage     the Dockerfile's runtime stage applied to that root, in
#              order (scripts/image/imagecheck.py stage): COPY of
#              docker/runtime-packages.txt, its RUN (apt-get install of the
#              listed packages + ca-certificates, the non-root user), COPY
#              of build/healer to the same path.
# 4. checks    scripts/image/imagecheck.py checks: healer as PID 1 of a new
#              PID namespace (unshare --pid --fork --mount-proc), chrooted
#              as the Dockerfile's user with the task definition's
#              environment and read-only root: --version/--help/ldd, the
#              health check, echo tasks from the local AWS endpoint on the
#              host's 127.0.0.1, the SIGTERM drain, HTTPS with and without
#              a test CA.
#
# Prints the root filesystem's size after each build step and the time
# each step took; removes everything it made on exit (unless --keep).
#
#   scripts/image-check.sh [--keep]
#
# Environment: IMAGE_CHECK_MIRROR (default http://deb.debian.org/debian),
# IMAGE_CHECK_SECURITY_MIRROR (default: the mirror's -security sibling),
# IMAGE_CHECK_CACHE (a directory for debootstrap's .deb files, kept between
# runs), HEALER_BIN (the binary to put in the image; default build/healer).
# Installs debootstrap with apt-get when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=/usr/bin/python3
MIRROR=${IMAGE_CHECK_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${IMAGE_CHECK_SECURITY_MIRROR:-${MIRROR%/debian}/debian-security}
CACHE=${IMAGE_CHECK_CACHE:-}
export HEALER_BIN=${HEALER_BIN:-$PWD/build/healer}

keep=0
for arg in "$@"; do
	case "$arg" in
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "image-check: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

log() { printf '[image-check] %s\n' "$*"; }
die() {
	log "FAIL: $*" >&2
	exit 1
}

# ---- time and size ---------------------------------------------------------
summary=()
step_t0=
step_begin() {
	step_t0=$EPOCHREALTIME
	log "== $1"
}
step_end() { # NAME [NOTE]
	local took
	took=$(awk -v a="$step_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	summary+=("$(printf '%-12s %6s s  %s' "$1" "$took" "${2:-}")")
	log "   $1: ${took} s${2:+ ($2)}"
}
size_mib() { du -sxm "$1" | cut -f1; }

# ---- cleanup -------------------------------------------------------------------
work=
child=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	if [ -n "$work" ] && [ -d "$work" ]; then
		# Anything debootstrap left mounted (it binds /dev, mounts /proc
		# and /sys while it runs): deepest first, never followed by rm.
		local mp
		awk -v r="$work/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo |
			sort -r | while read -r mp; do
			umount -l "$mp" 2>/dev/null || true
		done
		if [ "$keep" -eq 1 ]; then
			log "kept $work"
		else
			rm -rf --one-file-system "$work"
		fi
	fi
	if [ "$rc" -ge 128 ]; then
		log "stopped by a signal; cleaned up"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a helper in the background so that a signal reaches the trap at once.
run_child() {
	"$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=
	return "$rc"
}

# ---- prerequisites --------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount and PID namespaces)"
[ -x "$HEALER_BIN" ] || die "$HEALER_BIN: not built (run make)"
for tool in unshare nsenter chroot mount openssl node du awk; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
"$PYTHON" -c 'import botocore' 2>/dev/null || die "$PYTHON has no botocore (scripts/install-deps.sh)"
[ -f node_modules/@cdktf/hcl2json/package.json ] || die "node_modules missing (npm ci)"
if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
		die "cannot install debootstrap"
fi

work=$(mktemp -d /tmp/healer-image-check.XXXXXX)
root=$work/rootfs
total_t0=$EPOCHREALTIME

# ---- 1. spec --------------------------------------------------------------------------
step_begin "spec: the Dockerfile and terraform/ecs.tf agree"
if ! "$PYTHON" scripts/image/imagespec.py --check --healer "$HEALER_BIN" >"$work/disagreements"; then
	sed 's/^/  /' "$work/disagreements" >&2
	die "the Dockerfile and the task definition disagree (above)"
fi
read -r suite variant < <("$PYTHON" scripts/image/imagespec.py --healer "$HEALER_BIN" |
	"$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)["dockerfile"]
print(d["debian_suite"] or "-", "slim" if d["debian_slim"] else "full")')
[ "$suite" != "-" ] || die "the runtime stage is not FROM debian:<suite>[-slim]"
base_tag=$suite
[ "$variant" = slim ] && base_tag=$suite-slim
step_end spec "runtime stage FROM debian:$base_tag"

# ---- 2. base: debian:<suite>[-slim] from debootstrap ---------------------------------
step_begin "base: debootstrap --variant=minbase $suite ($MIRROR)"
mkdir -p "$root"
cache_opt=()
if [ -n "$CACHE" ]; then
	mkdir -p "$CACHE"
	cache_opt=("--cache-dir=$(cd "$CACHE" && pwd)")
fi
if ! run_child debootstrap --variant=minbase "${cache_opt[@]}" "$suite" "$root" "$MIRROR" \
	>"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	die "debootstrap failed (log above)"
fi
# apt's downloaded .debs, package caches and lists are not part of an image.
apt_mib=$(du -scm "$root/var/cache/apt" "$root/var/lib/apt/lists" | tail -n 1 | cut -f1)
minbase_mib=$(($(size_mib "$root") - apt_mib))
step_end debootstrap "minbase: ${minbase_mib} MiB, + ${apt_mib} MiB of apt downloads and caches"

step_begin "base: configured, updated (and slimmed for -slim) as Debian's images are"
# Debian's images are debootstrap minbase plus debuerreotype's minimizing
# config: no service starts, no apt caches or translations kept, gzipped
# indexes. Without it, apt's *.bin caches alone would add ~90 MiB.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
apt_clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<EOF
DPkg::Post-Invoke { $apt_clean };
APT::Update::Post-Invoke { $apt_clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
if [ "$variant" = slim ]; then
	# debuerreotype's .slimify-excludes / -includes, for dpkg and on disk.
	cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
	find "$root/usr/share/doc" -xdev -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -xdev -mindepth 1 -type d -empty -delete
	for d in info linda man lintian/overrides; do
		[ -d "$root/usr/share/$d" ] && find "$root/usr/share/$d" -xdev -mindepth 1 -delete
	done
	find "$root/usr/share/locale" -xdev -mindepth 1 -maxdepth 1 ! -name locale.alias \
		-exec rm -rf {} +
fi
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
run_child "$PYTHON" scripts/image/imagecheck.py upgrade "$root" || die "apt-get dist-upgrade failed"
base_mib=$(size_mib "$root")
step_end base "debian:$base_tag: ${base_mib} MiB"

# ---- 3. the Dockerfile's runtime stage ----------------------------------------------
step_begin "stage: the Dockerfile's runtime stage"
run_child "$PYTHON" scripts/image/imagecheck.py stage "$root" || die "the runtime stage failed"
image_mib=$(size_mib "$root")
bin_kib=$(( $(stat -c %s "$root/usr/local/bin/healer") / 1024 ))
step_end stage "image: ${image_mib} MiB (+$((image_mib - base_mib)) MiB; healer ${bin_kib} KiB)"

# ---- 4. checks inside the image ----------------------------------------------------
step_begin "checks: healer as PID 1 in the image"
run_child "$PYTHON" scripts/image/imagecheck.py checks "$root" --work "$work" ||
	die "a check failed (above)"
step_end checks

total=$(awk -v a="$total_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
log "summary (root filesystem: minbase ${minbase_mib} MiB, base ${base_mib} MiB, image ${image_mib} MiB):"
for line in "${summary[@]}"; do
	log "  $line"
done
log "  $(printf '%-12s %6s s' total "$total")"
log "image-check: all passed"
