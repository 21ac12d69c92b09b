#!/usr/bin/env bash
# Build (and cache) the systemd test images for the Molecule scenarios:
#   jaas-firewall-test:bookworm  (Debian 12)   jaas-firewall-test:trixie  (Debian 13)
# Stage 1: debootstrap a minbase rootfs from the machine's own Debian mirror, docker import.
# Stage 2: run it on the default bridge, apt-get install ufw/firewalld/..., docker commit.
# Each image carries the label jaas.firewall.recipe=<sha256 of this script + peer script +
# package lists + suite>; a build is skipped when an image with the current hash exists.
#
# Usage: build-images.sh [SUITE...]     (default: bookworm trixie)
# Env:   MIRROR=<url>   override the mirror read from /etc/apt (never committed anywhere)
#        FORCE=1        rebuild even if the cached image matches
#        IMAGE_REPO     default jaas-firewall-test
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE_REPO="${IMAGE_REPO:-jaas-firewall-test}"
LABEL_KEY="jaas.firewall.recipe"
SUITES=("$@"); [ "${#SUITES[@]}" -gt 0 ] || SUITES=(bookworm trixie)
export PATH="$PATH:/usr/sbin:/sbin"

# Packages baked into the minimal rootfs (debootstrap --include). firewalld cannot go here:
# its dependency polkitd fails to configure inside debootstrap.
BASE_PKGS="python3,python3-apt,systemd,systemd-sysv,dbus,procps,iproute2,iptables,nftables,kmod,iputils-ping,netcat-openbsd,socat,less"
# Packages installed in stage 2 (inside a running container, then docker commit).
STAGE2_PKGS="ufw firewalld python3-firewall python3-dbus python3-nftables procps iptables nftables iproute2 socat openssh-server dnsmasq squid"

log() { printf '[build-images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- mirror (read at run time)
detect_mirror() {
  local f uri
  if [ -n "${MIRROR:-}" ]; then printf '%s\n' "$MIRROR"; return; fi
  # deb822: first URIs: of a stanza whose Suites do not look like security updates
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(awk '
      BEGIN { RS=""; FS="\n" }
      {
        u=""; s=""; t=""
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/)   { u=$i; sub(/^URIs:[ \t]*/,"",u); split(u,a,/[ \t]+/); u=a[1] }
          if ($i ~ /^Suites:/) { s=$i }
          if ($i ~ /^Types:/)  { t=$i }
          if ($i ~ /^Enabled:[ \t]*no/) { u="" }
        }
        if (u != "" && t ~ /(^|[ \t])deb([ \t]|$)/ && s !~ /security/) { print u; exit }
      }' "$f")"
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return; fi
  done
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri="$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($(i+1) !~ /security/) { print $i; exit } else break } }' "$f")"
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return; fi
  done
  return 1
}

recipe_hash() { # $1 = suite
  { cat "$HERE/build-images.sh" "$HERE/peer_listener.py"
    printf 'suite=%s\nbase=%s\nstage2=%s\n' "$1" "$BASE_PKGS" "$STAGE2_PKGS"; } | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------- cleanup
ROOTFS=""; BUILD_CTR=""
cleanup() {
  local rc=$?
  if [ -n "$BUILD_CTR" ]; then docker rm -f "$BUILD_CTR" >/dev/null 2>&1 || true; fi
  if [ -n "$ROOTFS" ] && [ -d "$ROOTFS" ]; then
    # debootstrap bind-mounts /proc, /sys... into the target; never rm -rf through them
    findmnt -rn -o TARGET | grep -F "$ROOTFS" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$ROOTFS" || true
  fi
  ROOTFS=""; BUILD_CTR=""
  return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

retry() { # retry N cmd...
  local n=$1 i; shift
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    log "attempt $i/$n failed: $*"
    sleep $((i * 5))
  done
  return 1
}

# ---------------------------------------------------------------- stage 1
debootstrap_once() { # suite rootfs mirror
  rm -rf --one-file-system "$2"; mkdir -p "$2"
  debootstrap --variant=minbase --include="$BASE_PKGS" "$1" "$2" "$3" > "$2.log" 2>&1 \
    || { tail -n 30 "$2.log" >&2; return 1; }
}

prepare_rootfs() { # suite rootfs mirror
  local suite=$1 r=$2 mirror=$3
  # apt inside the containers talks to the same mirror as the host (written only here)
  rm -f "$r/etc/apt/sources.list"
  cat > "$r/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > "$r/etc/apt/apt.conf.d/80jaas-harness" <<'APT'
Acquire::Retries "5";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "false";
APT
  # no docs/man pages: smaller images, faster commits
  cat > "$r/etc/dpkg/dpkg.cfg.d/80jaas-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
DPKG
  # systemd as PID 1 in a container: empty machine-id (generated at boot), and mask units
  # that only make sense on real hardware / consoles.
  : > "$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  local u
  for u in getty@tty1.service console-getty.service serial-getty@.service \
           systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
           systemd-udev-trigger.service systemd-remount-fs.service systemd-firstboot.service \
           sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
           dev-hugepages.mount dev-mqueue.mount proc-sys-fs-binfmt_misc.automount \
           systemd-modules-load.service systemd-sysctl.service systemd-hwdb-update.service \
           apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
           tmp.mount; do
    ln -sf /dev/null "$r/etc/systemd/system/$u"
  done
  install -m 0755 "$HERE/peer_listener.py" "$r/usr/local/bin/peer_listener.py"
  apt-get -o Dir="$r" clean >/dev/null 2>&1 || rm -rf "$r"/var/cache/apt/archives/*.deb
  rm -rf "$r"/var/lib/apt/lists/*
}

# ---------------------------------------------------------------- stage 2 (inside a container)
STAGE2_SCRIPT='
set -eu
export DEBIAN_FRONTEND=noninteractive
# no service starts during the build (no systemd as PID 1 here anyway)
printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
for i in 1 2 3 4; do
  if apt-get update -q && apt-get install -y -q $STAGE2_PKGS; then ok=1; break; fi
  ok=0; echo "apt attempt $i failed" >&2; sleep $((i * 5))
done
[ "$ok" = 1 ]
# realistic fresh state: firewalld installed but stopped+disabled, ufw inactive
systemctl disable firewalld.service >/dev/null 2>&1 || true
# sshd, dnsmasq and squid are there for the scenarios that need them; none runs at boot
for u in ssh.service ssh.socket dnsmasq.service squid.service; do systemctl disable "$u" >/dev/null 2>&1 || true; done
rm -f /etc/ssh/ssh_host_*key*
sed -i "s/^ENABLED=.*/ENABLED=no/" /etc/ufw/ufw.conf
rm -f /usr/sbin/policy-rc.d
apt-get clean; rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /tmp/* /root/.cache
: > /etc/machine-id; rm -f /var/lib/dbus/machine-id
echo "firewalld $(dpkg-query -W -f="\${Version}" firewalld) ufw $(dpkg-query -W -f="\${Version}" ufw) python3 $(python3 -c "import platform;print(platform.python_version())")"
'

image_hash() { docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$1" 2>/dev/null || true; }

# Variant <suite>-noapt: the same image without python3-apt, like Debian's minimal installs.
# Tests run it with --network none to stand for an air-gapped host.
build_noapt() { # suite hash
  local image="$IMAGE_REPO:$1" variant="$IMAGE_REPO:$1-noapt"
  if [ -z "${FORCE:-}" ] && [ "$(image_hash "$variant")" = "$2" ]; then
    log "$variant is up to date (recipe $2), skipping"
    return 0
  fi
  BUILD_CTR="jaas-build-$1-noapt-$$"
  docker run --name "$BUILD_CTR" "$image" bash -c \
    'dpkg --purge python3-apt >/dev/null && ! python3 -c "import apt" 2>/dev/null' \
    || die "could not remove python3-apt from $image"
  docker commit -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
    -c "LABEL $LABEL_KEY=$2" -c "LABEL jaas.firewall.suite=$1" "$BUILD_CTR" "$variant" >/dev/null
  docker rm -f "$BUILD_CTR" >/dev/null; BUILD_CTR=""
  log "built $variant"
}

build_suite() {
  local suite=$1 mirror=$2 hash image base t0 t1 t2 versions
  image="$IMAGE_REPO:$suite"
  hash="$(recipe_hash "$suite")"
  if [ -z "${FORCE:-}" ] && [ "$(image_hash "$image")" = "$hash" ]; then
    log "$image is up to date (recipe $hash), skipping"
    build_noapt "$suite" "$hash"
    return 0
  fi
  log "building $image (recipe $hash)"
  t0=$SECONDS
  ROOTFS="$(mktemp -d /var/tmp/jaas-rootfs-$suite.XXXXXX)"
  retry 3 debootstrap_once "$suite" "$ROOTFS/root" "$mirror" || die "debootstrap $suite failed"
  prepare_rootfs "$suite" "$ROOTFS/root" "$mirror"
  base="$IMAGE_REPO-base:$suite"
  tar -C "$ROOTFS/root" --numeric-owner -c . \
    | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$base" >/dev/null
  cleanup || true; ROOTFS=""
  t1=$SECONDS
  log "stage 1 ($suite rootfs + import): $((t1 - t0))s"

  BUILD_CTR="jaas-build-$suite-$$"
  docker run --name "$BUILD_CTR" -e STAGE2_PKGS="$STAGE2_PKGS" "$base" bash -c "$STAGE2_SCRIPT" \
    > "/var/tmp/jaas-stage2-$suite.log" 2>&1 \
    || { tail -n 40 "/var/tmp/jaas-stage2-$suite.log" >&2; die "stage 2 for $suite failed"; }
  versions="$(tail -n 1 "/var/tmp/jaas-stage2-$suite.log")"
  docker commit \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c "LABEL $LABEL_KEY=$hash" \
    -c "LABEL jaas.firewall.suite=$suite" \
    "$BUILD_CTR" "$image" >/dev/null
  docker rm -f "$BUILD_CTR" >/dev/null; BUILD_CTR=""
  docker rmi "$base" >/dev/null 2>&1 || true
  t2=$SECONDS
  log "stage 2 ($suite packages + commit): $((t2 - t1))s"
  log "built $image in $((t2 - t0))s: $versions"
  build_noapt "$suite" "$hash"
}

# ---------------------------------------------------------------- main
command -v docker >/dev/null || die "docker missing: run tools/harness/ensure-docker.sh"
docker info >/dev/null 2>&1 || die "docker daemon not answering: run tools/harness/ensure-docker.sh"
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap missing: run tools/harness/ensure-docker.sh"
MIRROR_URL="$(detect_mirror)" || die "no Debian mirror found in /etc/apt (set MIRROR=...)"
log "mirror: read from /etc/apt configuration"
total0=$SECONDS
for s in "${SUITES[@]}"; do build_suite "$s" "$MIRROR_URL"; done
log "done in $((SECONDS - total0))s: $(docker images "$IMAGE_REPO" --format '{{.Repository}}:{{.Tag}} {{.Size}}' | tr '\n' ' ')"
