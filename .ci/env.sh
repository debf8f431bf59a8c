# Sourced by .ci/run and by the README quick start: makes sure the machine has what turnpike
# builds and tests with, then puts Node >= 22.12 first on PATH. Safe to source again.

turnpike_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

turnpike_env() {
  # Debian packages the tests drive: coturn's turnutils_* clients, openssl to make test certificates,
  # Chromium for the browser test (driven by playwright-core, which downloads no browser of its own),
  # iproute2's `ip netns` and `tc`, which give that test and the congested-uplink test a network
  # namespace of their own (the latter with a throttled link), and redis-server for the test of
  # revocations shared between nodes (each test starts its own on loopback; the package's service
  # is not used).
  local missing=()
  command -v turnutils_stunclient >/dev/null 2>&1 || missing+=(coturn)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # iproute2 puts tc in /usr/sbin, which a plain user's PATH may lack.
  { command -v ip && { command -v tc || [ -x /usr/sbin/tc ] || [ -x /sbin/tc ]; }; } >/dev/null 2>&1 || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing Debian packages: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "apt-get install ${missing[*]} failed" >&2; return 1; }
    else
      echo "warning: missing ${missing[*]} (apt-get install ${missing[*]}); the interop, browser and shared-revocation tests need them" >&2
    fi
  fi

  # Node 24 LTS from the npm registry (the node@24 package ships the binary) when the machine's is older.
  if ! turnpike_node_ok; then
    local dir="${TURNPIKE_NODE_DIR:-$HOME/.cache/turnpike/node24}"
    if [ ! -x "$dir/node_modules/.bin/node" ]; then
      echo "installing Node 24 from the npm registry into $dir"
      mkdir -p "$dir" &&
        (cd "$dir" && { [ -f package.json ] || echo '{"private":true}' >package.json; } && npm install --no-audit --no-fund node@24 >/dev/null) ||
        { echo "could not install node@24" >&2; return 1; }
    fi
    export PATH="$dir/node_modules/.bin:$PATH"
    turnpike_node_ok || { echo "node on PATH is still older than 22.12" >&2; return 1; }
  fi
  echo "node $(node --version), npm $(npm --version)"
}

turnpike_env
