#!/usr/bin/env bash
# make demo: run allow_jaas.yml against a throwaway Debian 12 container and show the result.
# Needs root (Docker). Everything it starts is removed on exit, even on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections" ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-1}"

name="jaas-demo-$$"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "Starting a throwaway Debian 12 container ($name) from jaas-firewall-test:bookworm"
# The harness's container settings (tests/reliability/harness.py), as the tests use them.
python - "$name" <<'PY'
import sys
sys.path.insert(0, 'tests')
from reliability import harness
host = harness.start_container(sys.argv[1], harness.IMAGES['bookworm'], hostname='jaas-demo')
print('systemd: %s' % host.wait_for_systemd())
PY

inventory=$(mktemp --suffix=.yml)
trap 'cleanup; rm -f "$inventory"' EXIT
cat > "$inventory" <<INV
all:
  hosts:
    $name:
      ansible_connection: community.docker.docker
      ansible_python_interpreter: /usr/bin/python3
INV

step "ansible-playbook playbooks/allow_jaas.yml (ufw enabled, outgoing denied except JaaS + DNS)"
echo "The bulk step is one module call that applies all ~190 rules at once."
start=$SECONDS
ansible-playbook -i "$inventory" playbooks/allow_jaas.yml -e jaas_firewall_backend=ufw \
  -e jaas_firewall_ufw_enable=true -e jaas_firewall_ufw_default_outgoing=deny
echo "first apply: $((SECONDS - start)) s"

step "Re-run: nothing to change"
start=$SECONDS
ansible-playbook -i "$inventory" playbooks/allow_jaas.yml -e jaas_firewall_backend=ufw \
  -e jaas_firewall_ufw_enable=true -e jaas_firewall_ufw_default_outgoing=deny | tail -n 4
echo "re-run: $((SECONDS - start)) s"

step "Resulting firewall (ufw status verbose, first 25 lines)"
# sed reads to the end: `head` would close the pipe early, and under pipefail the writer's
# SIGPIPE made the whole demo exit 141 at random.
docker exec "$name" ufw status verbose | sed -n '1,25p'
echo "..."
step "Rules by tag"
docker exec "$name" sh -c "ufw show added | grep -o \"comment '[^']*'\" | sort | uniq -c"
step "Kernel: ACCEPT rules in ufw's user output chains (iptables / ip6tables)"
printf 'IPv4: %s   IPv6: %s\n' \
  "$(docker exec "$name" iptables-save | grep -c -- '-A ufw-user-output .*-j ACCEPT' || true)" \
  "$(docker exec "$name" ip6tables-save | grep -c -- '-A ufw6-user-output .*-j ACCEPT' || true)"
step "Done; removing $name"
