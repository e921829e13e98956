# Shared by scripts/test, scripts/demo, scripts/preflight, image/build, image/test and bench/run:
# what each step needs on a fresh Debian 12 machine, how it is installed, and how it is checked.
# Sourced, not run.
#
# Every package is named here explicitly and installed with --no-install-recommends: a tool
# that works only because of a Recommends (swaks' TLS needs libnet-ssleay-perl, which swaks
# merely recommends) or because a machine happened to have it passes here and fails on the
# next fresh machine. The checks below prove the feature each step uses, not that a package
# is "installed".

# ---- packages, by step ---------------------------------------------------------------------
# peers: the behaviour tests and the demo (tests/, scripts/demo).
PEER_PACKAGES=(
    postfix              # Postfix smtpd/relay instances, smtp-sink, smtp-source, postconf
    swaks                # the SMTP client of the behaviour tests and the demo
    libnet-ssleay-perl   # swaks' STARTTLS/TLS (only a Recommends of swaks)
    python3-aiosmtpd     # tests/peers/capture.py, the recording smart host (Debian's python3)
    python3              # /usr/bin/python3 for the peers above
    python3-venv         # the pinned PyPI venv below (faker_venv)
    openssl              # test certificates and `openssl s_client`
    rsyslog              # the SIEM collector of tests/tests/siem.rs
    rsyslog-gnutls       # its TLS listener (RFC 5425)
    ca-certificates
    procps               # pgrep/ps in the benchmark and runtime tests
    systemd              # systemd-analyze verify/security of the units (systemd/check.sh)
    poppler-utils        # pdftotext: the PDF reader is compared with it (gateway/dlp/tests/formats.rs)
    prometheus           # promtool and a real Prometheus scraping /metrics (tests/tests/metrics.rs)
)
# fixture writers: only to regenerate the committed golden files of
# gateway/dlp/tests/fixtures/formats (the commands are in its README); no test runs them, and
# the test command does not install them. To regenerate:
#   . scripts/lib.sh && apt_need "${FIXTURE_WRITER_PACKAGES[@]}"
FIXTURE_WRITER_PACKAGES=(
    libreoffice-writer-nogui  # .doc, .rtf, .pdf, .docx from the planted documents
    libreoffice-calc-nogui    # .xls
    libreoffice-impress-nogui # .ppt
    ghostscript               # the Ghostscript PDF (gs -sDEVICE=pdfwrite)
    chromium                  # the Chromium print-to-PDF
    fonts-dejavu-core
)
# image: the firmware build (image/build) and its boot test (image/test).
IMAGE_PACKAGES=(
    mmdebstrap arch-test # the Debian arm64 root
    qemu-user-static     # aarch64 programs on the host (binfmt): mmdebstrap, cordonctl, tests
    qemu-system-arm      # qemu-system-aarch64 -M virt boots the image
    ipxe-qemu            # virtio-net's option ROM for qemu-system
    erofs-utils          # mkfs.erofs, the read-only root
    fdisk                # sfdisk, the GPT disk
    e2fsprogs            # mkfs.ext4: the slots' boot partitions (the /data tools inside come from Debian)
    u-boot-qemu          # the boot loader QEMU starts (-bios), as a board's flash would
    u-boot-tools         # mkimage: boot.scr, the A/B boot script
    cryptsetup-bin       # veritysetup: the root slots' dm-verity hash trees
    cpio gzip kmod       # the initramfs
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross   # linker for the static aarch64 musl build
    util-linux           # mount (binfmt_misc), lscpu
)
# bench: bench/run (smtp-source/smtp-sink come with postfix).
BENCH_PACKAGES=(postfix python3 procps)
# profile: bench/profile.sh (callgrind); not part of the test command.
PROFILE_PACKAGES=(valgrind postfix python3)

# ---- pinned PyPI packages -------------------------------------------------------------------
# Faker, the generator independent of cordon that writes the EDM acceptance table
# (tests/peers/edm_table.py, tests/tests/edm_faker.rs). Debian has no package of it, so it comes
# from PyPI by name, every distribution pinned exactly and installed without dependency
# resolution (--no-deps: the list is the whole closure, `pip check` proves it), into a venv of
# Debian's python3. The wheels are kept beside the venv, so a venv rebuilt later installs
# offline. tests/src/support.rs names the same venv (its test checks the two agree).
FAKER_VERSION=33.1.0
FAKER_PINS=(
    "Faker==$FAKER_VERSION"
    python-dateutil==4.0.0   # Faker's date providers
    typing_extensions==4.16.0
    tzdata==2026.6           # python-dateutil's zone data
)
FAKER_VENV=${CORDON_FAKER_VENV:-/var/cache/cordon/faker-$FAKER_VERSION}
FAKER_WHEELS=$FAKER_VENV.wheels

# faker_ready: the venv's python imports the pinned Faker.
faker_ready() {
    "$FAKER_VENV/bin/python" -c "import faker, sys; sys.exit(faker.VERSION != '$FAKER_VERSION')"
}

# faker_venv: creates the Faker venv unless it is ready; from the kept wheels when they are all
# there (offline), otherwise downloads exactly the pinned ones first.
faker_venv() {
    faker_ready >/dev/null 2>&1 && return 0
    echo "==> installing ${FAKER_PINS[*]} into $FAKER_VENV"
    rm -rf "$FAKER_VENV"
    /usr/bin/python3 -m venv "$FAKER_VENV"
    local pip=("$FAKER_VENV/bin/pip" --disable-pip-version-check --no-input -q)
    if ! "${pip[@]}" install --no-index --find-links "$FAKER_WHEELS" --no-deps "${FAKER_PINS[@]}" 2>/dev/null; then
        "${pip[@]}" download --no-deps --only-binary=:all: -d "$FAKER_WHEELS" "${FAKER_PINS[@]}"
        "${pip[@]}" install --no-index --find-links "$FAKER_WHEELS" --no-deps "${FAKER_PINS[@]}"
    fi
    "${pip[@]}" check
    faker_ready
}

# The Rust target the firmware is built for (rust-toolchain.toml pins the toolchain).
FIRMWARE_TARGET=aarch64-unknown-linux-musl

# apt_need PKG...: installs the packages that are not installed yet.
apt_need() {
    local missing=()
    for p in "$@"; do
        # `dpkg -s` succeeds for a removed package whose config files remain: ask for the
        # installed state itself.
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
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
    apt_need "${PEER_PACKAGES[@]}"
    faker_venv
}

# toolchain_channel: the channel rust-toolchain.toml pins.
toolchain_channel() {
    sed -n 's/^channel = "\(.*\)"/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../rust-toolchain.toml"
}

# firmware_target: the aarch64 musl target for the pinned toolchain.
firmware_target() {
    rustup target list --installed --toolchain "$(toolchain_channel)" 2>/dev/null | grep -x "$FIRMWARE_TARGET" >/dev/null \
        || rustup target add --toolchain "$(toolchain_channel)" "$FIRMWARE_TARGET" >/dev/null
}

# binfmt_aarch64: registers qemu-user for aarch64 ELF binaries (a fresh container has the
# binfmt_misc file system unmounted, and qemu-user-static's postinst cannot register there).
binfmt_aarch64() {
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] \
        || grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
}

# aarch64_cross: what building for the firmware target and running its binaries under
# qemu-user need on the host (.cargo/config.toml names the cross linker and C compiler).
aarch64_cross() {
    apt_need gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
    firmware_target
    binfmt_aarch64
}

# ---- the benchmarks' processes (bench/) ---------------------------------------------------------
# bench_work NAME: $work, a fresh temporary directory, and $pids, the processes that the EXIT trap
# stops and waits for before it removes $work. A script with more to stop sets bench_on_stop to a
# command, run between the two.
bench_work() {
    work=$(mktemp -d "/tmp/cordon-$1.XXXXXX")
    pids=()
    bench_on_stop=:
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    $bench_on_stop || true
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}

# wait_port NAME PORT LOG: until something accepts on 127.0.0.1:PORT (60 s); else NAME's log.
wait_port() {
    local i
    for i in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$2 ($1) after 60 s; the end of $3:" >&2
    tail -n 30 "$3" >&2 || true
    return 1
}

# image_packages: everything image/build and image/test need on the host.
image_packages() {
    apt_need "${IMAGE_PACKAGES[@]}" "${PEER_PACKAGES[@]}"
    firmware_target
    binfmt_aarch64
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
