# Shared by scripts/test and scripts/demo: install what a fresh Debian 12 machine lacks.
# Sourced, not run.

# apt_need PKG...: installs the packages that are not installed yet.
apt_need() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing ${missing[*]}"
    apt-get update -qq
    # Postfix is only a test peer here: no system mail configuration, no running service.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The peers cordon is tested against and demonstrated with.
peer_packages() {
    apt_need postfix swaks python3-aiosmtpd openssl ca-certificates
}

# step NAME CMD...: runs a step and prints how long it took.
step() {
    local name=$1 t0 rc
    shift
    echo "==> $name"
    t0=$(date +%s)
    "$@" && rc=0 || rc=$?
    echo "<== $name: $(( $(date +%s) - t0 ))s${rc:+ (exit $rc)}" | sed 's/ (exit 0)//'
    return $rc
}
