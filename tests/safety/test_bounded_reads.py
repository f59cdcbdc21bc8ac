"""Hostile or unlucky data: every read is bounded, every refusal is clear.

The risky loads run in a child process under an address-space limit
(RLIMIT_AS) and a timeout, so that a regression fails these tests instead
of hanging them or waking the OOM killer. One child loads every case in
turn (TensorFlow is imported once) and reports each outcome as the CLI
would map it: exit 0 with the images loaded, exit 2 with the `DataError`
message, or exit 1 with the traceback of anything else.
"""

import functools
import io
import json
import os
import resource
import socket
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest
from helpers import make_images
from PIL import Image

from keras_dcgan.config import DCGANConfig
from keras_dcgan.data import folders, load_images, suggest_shape
from keras_dcgan.errors import ConfigError, DataError

# /dev/zero, FIFOs and RLIMIT_AS as Linux has them.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
# TensorFlow reserves about 2.5 GiB of address space for a load (more on
# machines with many cores); a hostile file must not get much further.
ADDRESS_SPACE_LIMIT = 6 * 2**30
TIMEOUT_S = 60
GOOD_IMAGES = 20

CHILD = textwrap.dedent("""
    import json, os, sys, traceback
    from keras_dcgan.quality.classifier import load_labelled
    from keras_dcgan.data import load_images, suggest_shape
    from keras_dcgan.errors import DataError

    def load(path, kwargs):
        size, channels = suggest_shape(data=path)  # as `train` does first
        images = load_images(size, channels, data=path, **kwargs)
        return {"exit": 0, "num_images": images.num_images,
                "skipped": {os.path.relpath(p, path): why
                            for p, why in images.skipped.items()}}

    def labelled(path, kwargs):
        return {"exit": 0, "num_images": len(load_labelled(data=path)[0])}

    for name, call, path, kwargs in json.load(open(sys.argv[1])):
        print("LOADING", name, flush=True)
        try:
            result = {"load": load, "labelled": labelled}[call](path, kwargs)
        except DataError as e:
            result = {"exit": 2, "message": str(e)}
        except BaseException:
            result = {"exit": 1, "message": traceback.format_exc()}
        print("RESULT", json.dumps([name, result]), flush=True)
""")


def limit_child():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_limited(command, **kwargs):
    """Runs `command` under the memory limit; TimeoutExpired on a hang."""
    env = dict(
        os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join(sys.path)
    )
    return subprocess.run(
        command,
        preexec_fn=limit_child,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        **kwargs,
    )


# ---- hostile files --------------------------------------------------------


def good_folder(path):
    path.mkdir(parents=True)
    for i, image in enumerate(make_images(GOOD_IMAGES, size=32)):
        Image.fromarray(image).save(path / f"good_{i:02d}.png")
    return path


def png_chunk(kind, data):
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
    )


@functools.lru_cache
def png_declaring(width, height):
    """A valid gray PNG, all zeros: 389 KB on disk for 20000x20000."""
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # a filter byte, then one byte per pixel
    idat = b"".join(packer.compress(row) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat + packer.flush())
        + png_chunk(b"IEND", b"")
    )


def small_image(kind):
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(buffer, kind)
    return bytearray(buffer.getvalue())


def jpeg_declaring(width, height):
    data = small_image("JPEG")
    struct.pack_into(">HH", data, data.index(b"\xff\xc0") + 5, height, width)
    return bytes(data)


def gif_declaring(width, height):
    data = small_image("GIF")
    struct.pack_into("<HH", data, 6, width, height)  # the logical screen
    flags = data[10]
    palette = 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0
    frame = data.index(b"\x2c", 13 + palette)
    struct.pack_into("<HH", data, frame + 5, width, height)
    return bytes(data)


def bmp_declaring(width, height):
    data = small_image("BMP")
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def unix_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server  # kept open until the module's cases are done


SPECIAL_FILES = {  # name in the folder -> (make it, the kind reported)
    "fifo": ("x.png", lambda p: os.mkfifo(p), "FIFO"),
    "socket": ("x.png", unix_socket, "socket"),
    "dev_zero": ("x.png", lambda p: os.symlink("/dev/zero", p), "character device"),
    "dev_urandom": (
        "x.jpg",
        lambda p: os.symlink("/dev/urandom", p),
        "character device",
    ),
    "dev_full": ("x.gif", lambda p: os.symlink("/dev/full", p), "character device"),
}
HEADER_BOMBS = {  # file name -> (its bytes, the size its header declares)
    "png": ("x.png", lambda: png_declaring(20000, 20000), "20000x20000"),
    "jpeg": ("x.jpg", lambda: jpeg_declaring(60000, 60000), "60000x60000"),
    "gif": ("x.gif", lambda: gif_declaring(65535, 65535), "65535x65535"),
    "bmp": ("x.bmp", lambda: bmp_declaring(30000, 30000), "30000x30000"),
}


def link_loops(folder, outside):
    """Each layout reaches the same real files by several paths."""
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    os.symlink(".", folder / "sub" / "itself")
    os.symlink("good_00.png", folder / "alias.png")
    os.link(folder / "good_01.png", folder / "hard_link.png")
    for name in ("a", "b"):  # two links to one folder outside
        (folder / name).mkdir()
        os.symlink(outside, folder / name / "outside")


HUGE_SHAPES = {  # name -> (dtype, shape): each far beyond any machine
    "uint8_1e12": ("|u1", (10**6, 1000, 1000)),
    "float64_images": ("<f8", (10**9, 28, 28)),
    "float32_rgb": ("<f4", (2**40, 64, 64, 3)),
    "int64_overflow": ("<u2", (2**62, 2**62, 3)),
}


def write_npy_header(f, dtype, shape):
    np.lib.format.write_array_header_1_0(
        f, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    f.write(bytes(64))  # a few bytes of "data"


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    """members: {name in the zip: (dtype, shape) for a huge header, or
    an array}."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            with archive.open(name, "w") as f:
                if isinstance(content, np.ndarray):
                    np.lib.format.write_array(f, content)
                else:
                    write_npy_header(f, *content)


def build_cases(root, keep_open):
    """{name: (call, path, load_images kwargs)} of every case."""
    cases = {"normal_folder": ("load", str(good_folder(root / "normal")), {})}
    np.savez(root / "normal.npz", x=make_images(32))
    cases["normal_npz"] = ("load", str(root / "normal.npz"), {})
    tolerant = {"max_bad_fraction": 0.5}
    for case, (name, make, _) in SPECIAL_FILES.items():
        folder = good_folder(root / case)
        keep_open.append(make(folder / name))
        cases[case] = ("load", str(folder), tolerant)
    for case, (name, content, _) in HEADER_BOMBS.items():
        folder = good_folder(root / f"bomb_{case}")
        (folder / name).write_bytes(content())
        cases[f"bomb_{case}"] = ("load", str(folder), tolerant)
    folder = good_folder(root / "sparse")
    with open(folder / "x.png", "wb") as f:
        f.truncate(100 * 2**30)  # 100 GiB, none of it on disk
    cases["sparse_100_gib"] = ("load", str(folder), tolerant)
    link_loops(good_folder(root / "loops"), good_folder(root / "outside"))
    cases["link_loops"] = ("load", str(root / "loops"), {})
    only_bad = root / "only_bad"
    only_bad.mkdir()
    os.mkfifo(only_bad / "fifo.png")
    os.symlink("/dev/zero", only_bad / "zero.jpg")
    (only_bad / "bomb.png").write_bytes(HEADER_BOMBS["png"][1]())
    cases["only_bad_files"] = ("load", str(only_bad), {})
    for case, (dtype, shape) in HUGE_SHAPES.items():
        with open(root / f"{case}.npy", "wb") as f:
            write_npy_header(f, dtype, shape)
        cases[f"npy_{case}"] = ("load", str(root / f"{case}.npy"), {})
        for how, compression in (
            ("stored", zipfile.ZIP_STORED),
            ("deflated", zipfile.ZIP_DEFLATED),
        ):
            path = root / f"{case}_{how}.npz"
            write_npz(path, {"x.npy": (dtype, shape)}, compression)
            cases[f"npz_{how}_{case}"] = ("load", str(path), {})
    os.mkfifo(root / "fifo.npy")
    cases["npy_fifo"] = ("load", str(root / "fifo.npy"), {})
    os.symlink("/dev/zero", root / "zero.npz")
    cases["npz_dev_zero"] = ("load", str(root / "zero.npz"), {})
    write_npz(
        root / "huge_labels.npz", {"x.npy": make_images(8), "y.npy": ("<i8", (10**12,))}
    )
    cases["classifier_huge_labels"] = ("labelled", str(root / "huge_labels.npz"), {})
    return cases


def run_child(spec, cases):
    """Loads `cases` in one limited child: ({case: result}, last case
    started, how the child ended)."""
    spec.write_text(json.dumps([[name, *case] for name, case in cases.items()]))
    try:
        result = run_limited([sys.executable, "-c", CHILD, str(spec)])
        stdout, ended = (
            result.stdout,
            (f"exit status {result.returncode}: {result.stderr[-2000:]}"),
        )
    except subprocess.TimeoutExpired as e:
        stdout, ended = e.stdout or b"", f"a hang (killed after {TIMEOUT_S} s)"
        stdout = stdout if isinstance(stdout, str) else stdout.decode()
    lines = stdout.splitlines()
    results = dict(
        json.loads(line[len("RESULT ") :])
        for line in lines
        if line.startswith("RESULT ")
    )
    started = [line.split()[1] for line in lines if line.startswith("LOADING ")]
    return results, started[-1] if started else None, ended


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """{case: the child's result}. A case that kills or hangs the child is
    recorded as such, and a new child goes on with the cases after it."""
    root = tmp_path_factory.mktemp("hostile")
    keep_open = []
    cases = build_cases(root, keep_open)
    results = {}
    try:
        while len(results) < len(cases):
            pending = {k: v for k, v in cases.items() if k not in results}
            done, culprit, ended = run_child(root / "cases.json", pending)
            results.update(done)
            if culprit is None or culprit in done:  # died before any case
                culprits = [k for k in pending if k not in done]
            else:
                culprits = [culprit]
            for name in culprits:
                results[name] = {"exit": None, "message": f"the child ended in {ended}"}
    finally:
        for server in keep_open:
            if server is not None:
                server.close()
    return results


def assert_loaded(outcome, num_images=GOOD_IMAGES):
    assert outcome["exit"] == 0, outcome["message"]
    assert outcome["num_images"] == num_images


def assert_one_line_refusal(outcome, *fragments):
    assert outcome["exit"] == 2, outcome["message"]
    message = outcome["message"]
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message


def test_a_normal_load_passes_under_the_memory_limit(outcomes):
    assert_loaded(outcomes["normal_folder"])
    assert outcomes["normal_folder"]["skipped"] == {}
    assert_loaded(outcomes["normal_npz"], num_images=32)


@pytest.mark.parametrize("case", SPECIAL_FILES)
def test_special_files_are_never_opened(outcomes, case):
    name, _, kind = SPECIAL_FILES[case]
    outcome = outcomes[case]
    assert_loaded(outcome)
    assert outcome["skipped"] == {name: f"not a regular file ({kind}); never opened"}


@pytest.mark.parametrize("case", HEADER_BOMBS)
def test_images_declaring_too_many_pixels_are_not_decoded(outcomes, case):
    name, _, size = HEADER_BOMBS[case]
    outcome = outcomes[f"bomb_{case}"]
    assert_loaded(outcome)
    assert list(outcome["skipped"]) == [name]
    reason = outcome["skipped"][name]
    assert reason.startswith(f"{size} px, over the 178,956,970 pixel limit")
    assert "max_image_pixels=" in reason


def test_a_file_over_the_byte_limit_is_not_read(outcomes):
    outcome = outcomes["sparse_100_gib"]
    assert_loaded(outcome)
    assert outcome["skipped"] == {
        "x.png": "100.0 GiB, over the 64.0 MiB per-file limit; recompress "
        "or downscale it"
    }


def test_link_loops_and_aliases_count_each_real_image_once(outcomes):
    # 20 images in the folder and 20 in the folder linked from two places.
    outcome = outcomes["link_loops"]
    assert_loaded(outcome, num_images=2 * GOOD_IMAGES)
    assert outcome["skipped"] == {}


def test_a_folder_of_only_hostile_files_is_refused_with_the_list(outcomes):
    outcome = outcomes["only_bad_files"]
    assert outcome["exit"] == 2, outcome["message"]
    lines = outcome["message"].splitlines()
    assert lines[0].endswith("none of the 3 image files can be used:")
    assert sorted(line.split(":")[0].rsplit("/", 1)[-1] for line in lines[1:]) == [
        "bomb.png",
        "fifo.png",
        "zero.jpg",
    ]


@pytest.mark.parametrize("case", HUGE_SHAPES)
@pytest.mark.parametrize("container", ["npy", "npz_stored", "npz_deflated"])
def test_arrays_larger_than_memory_are_refused_from_their_header(
    outcomes, case, container
):
    assert_one_line_refusal(
        outcomes[f"{container}_{case}"],
        "of memory, more than the",
        "available",
        "use an image folder, which streams",
    )


@pytest.mark.parametrize(
    "case,kind", [("npy_fifo", "FIFO"), ("npz_dev_zero", "character device")]
)
def test_an_array_path_that_is_not_a_regular_file_is_refused(outcomes, case, kind):
    assert_one_line_refusal(outcomes[case], f"not a regular file ({kind})")


def test_classifier_labels_are_bounded_too(outcomes):
    assert_one_line_refusal(
        outcomes["classifier_huge_labels"], "huge_labels.npz (y)", "available"
    )


def test_the_cli_refuses_a_hostile_array_in_one_line(tmp_path):
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        write_npy_header(f, "|u1", (10**6, 1000, 1000))
    result = run_limited(
        [
            sys.executable,
            "-m",
            "keras_dcgan",
            "train",
            "--data",
            str(path),
            "--output-dir",
            str(tmp_path / "run"),
            "--dry-run",
        ]
    )
    assert result.returncode == 2, result.stderr
    errors = [
        line for line in result.stderr.splitlines() if line.startswith("keras-dcgan")
    ]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert errors[0].startswith(
        f"keras-dcgan: error: --data {path}: the "
        "array (1000000, 1000, 1000) uint8 needs"
    )


# ---- in-process: the limits' settings and messages ------------------------


def test_the_pixel_limit_is_a_flag_and_names_itself(tmp_path, capsys):
    from keras_dcgan.cli import main

    folder = good_folder(tmp_path / "data")
    Image.fromarray(make_images(1, size=40)[0]).save(folder / "big.png")
    images = load_images(28, 1, data=str(folder), max_image_pixels=32 * 32)
    assert images.num_images == GOOD_IMAGES
    assert images.skipped[str(folder / "big.png")].startswith(
        "40x40 px, over the 1,024 pixel limit; raise max_image_pixels="
    )
    code = main(
        [
            "train",
            "--data",
            str(folder),
            "--output-dir",
            str(tmp_path / "run"),
            "--max-image-pixels",
            "100",
            "--dry-run",
        ]
    )
    assert code == 2
    assert "21 image files can be used" in capsys.readouterr().err


@pytest.mark.parametrize("value", [0, -5, 2**32 + 1, 1.5, True])
def test_invalid_pixel_limits_are_refused(value):
    with pytest.raises(ConfigError, match="^max_image_pixels="):
        DCGANConfig(max_image_pixels=value)


def test_the_byte_limit_skips_larger_files(tmp_path, monkeypatch):
    folder = good_folder(tmp_path / "data")
    (folder / "large.png").write_bytes(
        (folder / "good_00.png").read_bytes() + bytes(2000)
    )
    limit = os.path.getsize(folder / "good_00.png") + 1000
    monkeypatch.setattr(folders, "MAX_FILE_BYTES", limit)
    images = load_images(28, 1, data=str(folder))
    assert list(images.skipped) == [str(folder / "large.png")]
    assert "per-file limit" in images.skipped[str(folder / "large.png")]


@pytest.mark.parametrize("container", ["npy", "npz"])
def test_suggest_shape_reads_the_header_only(tmp_path, container):
    # The header promises 10 RGB images of 48 px; the data is cut short,
    # which suggest_shape cannot notice and load_images refuses.
    path = tmp_path / f"cut.{container}"
    if container == "npy":
        with open(path, "wb") as f:
            write_npy_header(f, "|u1", (10, 48, 48, 3))
    else:
        write_npz(path, {"x.npy": ("|u1", (10, 48, 48, 3))})
    assert suggest_shape(data=str(path)) == (64, 3)
    with pytest.raises(DataError, match="truncated: the header declares"):
        load_images(64, 3, data=str(path))


def test_an_npz_member_that_is_not_an_array_is_refused(tmp_path):
    path = tmp_path / "raw.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x", b"raw bytes, no .npy header")
    with pytest.raises(DataError, match=r"raw.npz \(x\): not a NumPy array"):
        load_images(28, 1, data=str(path))
