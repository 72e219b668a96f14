#!/usr/bin/env bash
# Installs what the test suites need on a fresh Debian/Ubuntu machine (the daemon
# itself needs only Node 20): one list, used by the README's setup and by .ci/run.
# Packages already present are not touched; without root it uses sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# The qemu driver's tests run real QEMU (TCG); the generated Python client is run with python3.
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v python3 >/dev/null || need+=(python3)
# UEFI guests (OVMF) and the Linux test guest with a network stack (kernel + busybox initramfs).
dpkg -s ovmf >/dev/null 2>&1 || need+=(ovmf)
dpkg -s linux-image-amd64 >/dev/null 2>&1 || need+=(linux-image-amd64)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
# The guest-agent tests run a real qemu-ga (host-run, dangerous commands blocked; and copied into a
# test guest), whose filesystem they read out of the snapshot images with debugfs.
command -v qemu-ga >/dev/null || [ -x /usr/sbin/qemu-ga ] || need+=(qemu-guest-agent)
command -v debugfs >/dev/null || [ -x /usr/sbin/debugfs ] || need+=(e2fsprogs)
# The esx driver's tests run against vcsim, built from Debian's govmomi sources (tools/vcsim/build.sh).
command -v go >/dev/null || need+=(golang-go)
dpkg -s golang-github-vmware-govmomi-dev >/dev/null 2>&1 || need+=(golang-github-vmware-govmomi-dev)
# The web page's test drives headless Chromium.
command -v chromium >/dev/null || need+=(chromium)
# The remote transports' tests: a real sshd on 127.0.0.1, certificates made with openssl.
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# vcsim itself is built by the esx tests on first use (tools/vcsim/build.sh), as the user who runs them.
