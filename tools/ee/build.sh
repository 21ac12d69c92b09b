#!/usr/bin/env bash
# Build the jaas.firewall execution environment (EE) offline, the way AWX / Automation
# Platform run the collection: ansible-builder on a locally built base image.
#
#   1. base image jaas-ee-base:<suite> - debootstrap (python3, pip, venv, openssh-client)
#      from the machine's own Debian mirror, docker import; cached by recipe hash.
#   2. wheelhouse - the controller's pip downloads every Python package the build needs
#      (ansible-core, ansible-runner, netaddr, bindep...), so the image build itself
#      needs no package index (pip in the build runs with no-index + find-links).
#   3. collection tarball - ansible-galaxy collection build of this checkout.
#   4. ansible-builder build -f tools/ee/execution-environment.yml (v3), whose galaxy
#      dependency is that tarball; ansible-builder reads the collection's own
#      meta/execution-environment.yml (Python deps: requirements.txt) while building.
#
# Usage: tools/ee/build.sh            (env: EE_TAG, SUITE=bookworm, MIRROR, FORCE_BASE=1)
# Needs: root, docker (tools/harness/ensure-docker.sh), debootstrap, the venv (make setup).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SUITE="${SUITE:-bookworm}"
BASE_IMAGE="jaas-ee-base:$SUITE"
EE_TAG="${EE_TAG:-jaas-firewall-ee:latest}"
VENV="${VENV:-$REPO/.venv}"
WORK="${WORK:-$REPO/.cache/ee}"
LABEL_KEY="jaas.firewall.recipe"
BASE_PKGS="python3,python3-pip,python3-venv,openssh-client,ca-certificates,sshpass,rsync,git,procps,less"
export PATH="$VENV/bin:$PATH:/usr/sbin:/sbin"

log() { printf '[ee %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "docker not answering: run tools/harness/ensure-docker.sh"
command -v ansible-builder >/dev/null || die "ansible-builder missing in $VENV: run make setup"
mkdir -p "$WORK"

# ---------------------------------------------------------------- 1. base image
detect_mirror() { # first non-security deb URI of the machine's apt configuration
  if [ -n "${MIRROR:-}" ]; then printf '%s\n' "$MIRROR"; return; fi
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS=""; FS="\n" }
      { u=""; s=""; t=""
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/)   { u=$i; sub(/^URIs:[ \t]*/,"",u); split(u,a,/[ \t]+/); u=a[1] }
          if ($i ~ /^Suites:/) { s=$i }
          if ($i ~ /^Types:/)  { t=$i } }
        if (u != "" && t ~ /(^|[ \t])deb([ \t]|$)/ && s !~ /security/) { print u; exit } }' "$f" && return
  done | head -n 1 | grep . && return
  awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit } }' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1 | grep .
}

# The base image is rebuilt only when what goes into it changes.
BASE_RECIPE_VERSION=1
recipe="$(printf 'v=%s\nsuite=%s\npkgs=%s\n' "$BASE_RECIPE_VERSION" "$SUITE" "$BASE_PKGS" | sha256sum | cut -c1-16)"
have="$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$BASE_IMAGE" 2>/dev/null || true)"
if [ -n "${FORCE_BASE:-}" ] || [ "$have" != "$recipe" ]; then
  mirror="$(detect_mirror)" || die "no Debian mirror in /etc/apt (set MIRROR=...)"
  log "building $BASE_IMAGE (recipe $recipe) from the machine's Debian mirror"
  rootfs="$(mktemp -d /var/tmp/jaas-ee-rootfs.XXXXXX)"
  cleanup() {
    { findmnt -rn -o TARGET | grep -F "$rootfs" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf --one-file-system "$rootfs"
  }
  trap cleanup EXIT
  debootstrap --variant=minbase --include="$BASE_PKGS" "$SUITE" "$rootfs/root" "$mirror" \
    > "$rootfs/debootstrap.log" 2>&1 || { tail -n 30 "$rootfs/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$rootfs/root/var/cache/apt/archives/"*.deb "$rootfs/root/var/lib/apt/lists/"*
  tar -C "$rootfs/root" --numeric-owner -c . | docker import \
    -c 'CMD ["/bin/bash"]' -c "LABEL $LABEL_KEY=$recipe" - "$BASE_IMAGE" >/dev/null
  cleanup; trap - EXIT
  log "built $BASE_IMAGE"
else
  log "$BASE_IMAGE is up to date (recipe $recipe)"
fi

# ---------------------------------------------------------------- 2. wheelhouse
CONTEXT_SRC="$WORK/src"
rm -rf "$CONTEXT_SRC"; mkdir -p "$CONTEXT_SRC/wheels"
log "downloading wheels with the controller's pip"
pip download -q -d "$CONTEXT_SRC/wheels" --only-binary=:all: \
  -r "$HERE/requirements.txt" -r "$REPO/requirements.txt" 2>&1 | grep -v 'is ignored: it is neither' || true
[ -n "$(ls "$CONTEXT_SRC/wheels")" ] || die "pip download produced no wheels"
printf '[global]\nno-index = true\nfind-links = /build/wheels\n' > "$CONTEXT_SRC/pip.conf"

# ---------------------------------------------------------------- 3. collection tarball
ansible-galaxy collection build --force --output-path "$CONTEXT_SRC" "$REPO" >/dev/null
tarball="$(ls "$CONTEXT_SRC"/jaas-firewall-*.tar.gz)"
cp "$tarball" "$CONTEXT_SRC/jaas-firewall.tar.gz"

# ---------------------------------------------------------------- 4. ansible-builder
cp "$HERE/execution-environment.yml" "$CONTEXT_SRC/"
log "ansible-builder build -t $EE_TAG (base $BASE_IMAGE)"
ansible-builder build -f "$CONTEXT_SRC/execution-environment.yml" -c "$WORK/context" -t "$EE_TAG" \
  --container-runtime docker --build-arg EE_BASE_IMAGE="$BASE_IMAGE" -v 2 > "$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log" >&2; die "ansible-builder build failed (log: $WORK/build.log)"; }
# What ansible-builder took from the collection's meta/execution-environment.yml
cid="$(docker create "$EE_TAG")"
rm -rf "$WORK/installed"; mkdir -p "$WORK/installed"
docker cp "$cid:/usr/share/ansible/collections/ansible_collections" "$WORK/installed/" >/dev/null
docker rm "$cid" >/dev/null
ansible-builder introspect "$WORK/installed" | sed -n '/^python:/,/^system:/p'
docker run --rm "$EE_TAG" bash -c 'ansible --version | head -n 1; ansible-runner --version; \
  ansible-galaxy collection list jaas.firewall 2>/dev/null | tail -n 1; python3 -c "import netaddr; print(\"netaddr\", netaddr.__version__)"'
log "built $EE_TAG"
