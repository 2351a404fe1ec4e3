# SPDX-License-Identifier: GPL-2.0-or-later
"""Obtain a stock Debian x86-64 kernel (bzImage) for the functional tests.

The tests boot an unmodified distribution kernel, so they need one on disk
without fetching anything from the internet at test time in the usual
sense: we ask the host's own package manager. Debian's metapackage
``linux-image-cloud-amd64`` depends on the current real image package
(``linux-image-6.1.0-NN-cloud-amd64``); we resolve that name with
``apt-cache depends``, ``apt-get download`` the .deb (running ``apt-get
update`` once if the package lists are missing), and unpack only
``./boot/vmlinuz-*`` with ``dpkg-deb --fsys-tarfile | tar``. The kernel is
cached in ``tests/functional/.assets/`` (ignored by git), so later runs
never touch the network.

``TANDEM_LINUX_KERNEL=/path/to/bzImage`` bypasses all of this.

Failure to obtain the kernel raises :class:`KernelUnavailable` with the
reason; the tests turn that into a failure, never a silent skip.
"""

import glob
import os
import shutil
import subprocess
import tempfile

ASSET_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         ".assets")
METAPACKAGE = "linux-image-cloud-amd64"


class KernelUnavailable(RuntimeError):
    pass


def _run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)


def _image_package():
    """The real linux-image package the metapackage depends on."""
    for attempt in range(2):
        r = _run(["apt-cache", "depends", METAPACKAGE])
        if r.returncode == 0:
            for line in r.stdout.splitlines():
                line = line.strip()
                # "Depends: linux-image-6.1.0-56-cloud-amd64"
                if line.startswith("Depends:"):
                    name = line.split(":", 1)[1].strip()
                    if name.startswith("linux-image-"):
                        return name
        if attempt == 0:
            # Package lists missing or stale: refresh once and retry.
            u = _run(["apt-get", "update"])
            if u.returncode != 0:
                raise KernelUnavailable(
                    "apt-get update failed (need root and the Debian "
                    "mirror): " + u.stderr.strip()[-500:])
    raise KernelUnavailable(
        "cannot resolve the package behind %s with apt-cache depends: %s"
        % (METAPACKAGE, (r.stderr or r.stdout).strip()[-500:]))


def _cached():
    found = sorted(glob.glob(os.path.join(ASSET_DIR,
                                          "vmlinuz-*-cloud-amd64")))
    return found[-1] if found else None


def stock_kernel():
    """Path of a Debian cloud-amd64 bzImage, downloading it once."""
    override = os.environ.get("TANDEM_LINUX_KERNEL")
    if override:
        if not os.path.isfile(override):
            raise KernelUnavailable("TANDEM_LINUX_KERNEL=%s does not exist"
                                    % override)
        return override

    cached = _cached()
    if cached:
        return cached

    for tool in ("apt-cache", "apt-get", "dpkg-deb", "tar"):
        if shutil.which(tool) is None:
            raise KernelUnavailable("%s not found: a Debian host is needed "
                                    "to fetch %s (or set "
                                    "TANDEM_LINUX_KERNEL)" % (tool,
                                                              METAPACKAGE))

    pkg = _image_package()
    os.makedirs(ASSET_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ASSET_DIR) as tmp:
        # apt-get download writes into the current directory.
        r = _run(["apt-get", "download", pkg], cwd=tmp)
        debs = glob.glob(os.path.join(tmp, pkg + "_*.deb"))
        if r.returncode != 0 or not debs:
            raise KernelUnavailable("apt-get download %s failed: %s"
                                    % (pkg, r.stderr.strip()[-500:]))
        unpack = os.path.join(tmp, "root")
        os.mkdir(unpack)
        fsys = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", debs[0]],
                                stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", unpack,
                              "--wildcards", "./boot/vmlinuz-*"],
                             stdin=fsys.stdout, stderr=subprocess.PIPE,
                             text=True, timeout=600)
        fsys.stdout.close()
        fsys.wait(timeout=600)
        images = glob.glob(os.path.join(unpack, "boot", "vmlinuz-*"))
        if fsys.returncode != 0 or tar.returncode != 0 or not images:
            raise KernelUnavailable("cannot unpack /boot/vmlinuz-* from %s: "
                                    "%s" % (debs[0], tar.stderr.strip()))
        dest = os.path.join(ASSET_DIR, os.path.basename(images[0]))
        # Rename within one file system so a concurrent run never sees a
        # half-written kernel.
        os.replace(images[0], dest)
    return dest


if __name__ == "__main__":
    print(stock_kernel())
