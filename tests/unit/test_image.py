import io
import tarfile

from devnet import image


def test_rootfs_has_busybox_applets_and_the_echo_server():
    tar = tarfile.open(fileobj=io.BytesIO(image.rootfs_tar()))
    names = {m.name: m for m in tar.getmembers()}
    assert names["bin/busybox"].isfile()
    for applet in ("sh", "nc", "hostname", "cat"):
        assert names[f"bin/{applet}"].issym() and names[f"bin/{applet}"].linkname == "busybox"
    server = names["bin/echo-server"]
    assert server.mode & 0o111
    assert b"hostname" in tar.extractfile(server).read()
    assert names["tmp"].mode == 0o1777


class FakeImages:
    def __init__(self, labels):
        self.labels = labels

    def get(self, tag):
        if tag not in self.labels:
            raise LookupError(tag)
        return type("Image", (), {"labels": self.labels[tag]})()


def test_ensure_skips_when_both_tags_are_devnets_image():
    client = type("Client", (), {"images": FakeImages({t: {image.LABEL: "x"} for t in image.TAGS})})
    assert image.ensure(client).startswith("already done")
