# Shared settings for dql's scripts; sourced, not run.
DQL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DQL_VENV="${DQL_VENV:-$DQL_ROOT/.venv}"
DQL_PYTHON="$DQL_VENV/bin/python"

die() {
    echo "error: $*" >&2
    exit 1
}

note() {
    echo "==> $*" >&2
}

# A TCP port on 127.0.0.1 that nothing listens on right now. It is drawn from below the
# kernel's ephemeral range (32768+), so outgoing client connections cannot take it before the
# server binds it.
free_port() {
    python3 -c '
import random, socket
for _ in range(200):
    port = random.randrange(20000, 32000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port found in 20000-32000")
'
}

# Prints a base port N where N, N+1, N+2 and their cluster bus ports (N+10000 …) are all free,
# below the kernel's ephemeral range.
free_cluster_base() {
    python3 -c '
import random, socket
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
for _ in range(200):
    base = random.randrange(20000, 22000)
    if all(free(p) and free(p + 10000) for p in (base, base + 1, base + 2)):
        print(base)
        break
else:
    raise SystemExit("no free ports for a test cluster")
'
}
