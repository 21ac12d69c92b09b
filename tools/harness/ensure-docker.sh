#!/usr/bin/env bash
# Make sure a working Docker daemon answers on this machine (idempotent).
#  - installs docker.io + debootstrap with apt when dockerd/debootstrap are missing
#  - starts dockerd in the background when `docker info` fails (no systemd as PID 1 here)
#  - waits until `docker info` answers (DOCKER_WAIT seconds, default 60)
#  - checks that the first `docker` client in PATH can talk to the daemon
# Env: DOCKER_WAIT, DOCKERD_LOG (default /var/log/dockerd.log)
set -euo pipefail

WAIT="${DOCKER_WAIT:-60}"
LOG="${DOCKERD_LOG:-/var/log/dockerd.log}"
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '[ensure-docker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "must run as root (or with sudo available)"
  SUDO="sudo"
fi

apt_install() {
  local i
  for i in 1 2 3; do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; then
      return 0
    fi
    log "apt-get install failed (attempt $i), refreshing package lists"
    $SUDO apt-get update -q || true
    sleep $((i * 3))
  done
  die "could not install: $*"
}

# 1. packages
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO apt-get update -q || true
  apt_install "${missing[@]}"
  # iptables is needed by dockerd for bridge networking; docker.io depends on it,
  # but make the dependency explicit on minimal machines.
  command -v iptables >/dev/null 2>&1 || apt_install iptables
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after install"
command -v docker >/dev/null 2>&1 || die "no docker client in PATH"

# 2. kernel limits: twenty or more systemd containers at once exhaust the default 128
#    inotify instances (systemd in the newest containers exits); the suites start more.
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)" -lt 8192 ]; then
  $SUDO sysctl -q -w fs.inotify.max_user_instances=8192 || log "WARNING: could not raise fs.inotify.max_user_instances"
fi
#    netfilter's log target is silent outside the initial network namespace unless the
#    machine allows it; the drop log tests (tests/reliability/test_drop_report.py) read the
#    containers' logged drops from the machine's kernel log.
if [ "$(cat /proc/sys/net/netfilter/nf_log_all_netns 2>/dev/null || echo 1)" != 1 ]; then
  $SUDO sysctl -q -w net.netfilter.nf_log_all_netns=1 || log "WARNING: could not set net.netfilter.nf_log_all_netns=1"
fi

# 3. daemon
if docker info >/dev/null 2>&1; then
  log "docker daemon already answers"
else
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd process exists but does not answer yet; waiting"
  else
    log "starting dockerd in the background (log: $LOG)"
    $SUDO mkdir -p "$(dirname "$LOG")"
    # setsid: detach from this shell / make job so it outlives the caller.
    $SUDO setsid dockerd >>"$LOG" 2>&1 < /dev/null &
  fi
  start=$SECONDS
  until docker info >/dev/null 2>&1; do
    if (( SECONDS - start >= WAIT )); then
      log "last lines of $LOG:"; tail -n 20 "$LOG" >&2 || true
      die "docker daemon did not answer within ${WAIT}s"
    fi
    sleep 1
  done
  log "docker daemon answers after $((SECONDS - start))s"
fi

# 3. IPv6 egress guard. dockerd 20.10 programs ip6tables only with --experimental
# --ip6tables, so an `internal: true` network with enable_ipv6 still gets an IPv6 default
# route via the host bridge, and the host (forwarding=1, FORWARD ACCEPT) would route it out.
# Drop every IPv6 packet forwarded between a user-defined docker bridge (br-*) and anything
# that is not such a bridge. Idempotent (-C before -I); no dockerd restart needed.
if command -v ip6tables >/dev/null 2>&1; then
  for rule in "-i br-+ ! -o br-+ -j DROP" "-o br-+ ! -i br-+ -j DROP"; do
    # shellcheck disable=SC2086
    $SUDO ip6tables -C FORWARD $rule 2>/dev/null || $SUDO ip6tables -I FORWARD 1 $rule \
      || die "could not install the IPv6 egress guard: ip6tables -I FORWARD $rule"
  done
  log "IPv6 egress guard present (ip6tables FORWARD: br-* <-> outside dropped)"
else
  log "WARNING: ip6tables missing: IPv6 on internal docker networks is not isolated"
fi

# 4. client/daemon compatibility: the first `docker` in PATH may be a newer client
# (e.g. /usr/local/bin/docker 28.x) than the apt daemon (20.10, API 1.41); the client
# negotiates the API version down, which must succeed.
if ! ver="$(docker version --format '{{.Client.Version}} (API {{.Client.APIVersion}}) -> daemon {{.Server.Version}} (API {{.Server.APIVersion}})' 2>&1)"; then
  log "$ver"
  die "docker client $(command -v docker) cannot talk to dockerd; put /usr/bin first in PATH or set DOCKER_API_VERSION"
fi
log "docker: $(command -v docker) $ver"
