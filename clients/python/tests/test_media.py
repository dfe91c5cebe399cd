"""Images logged to a run: every kind of image becomes a `figure` artifact `<key>/<step>.png`
(or .jpg) whose pixels are the ones given, listed by `run.images(key)` in step order, and the
imaging libraries are imported only for objects of theirs."""
import io
import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

import tally
from tally import _media
from tally.v1 import tracking_pb2

PIL = pytest.importorskip("PIL.Image")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run(daemon):
    run = tally.start_run(unique("media"), capture_env=False, system_metrics=False)
    yield run
    run.end()


def pixels(client, artifact_id, tmp_path):
    path = tmp_path / f"{artifact_id}.img"
    client.download_artifact(path, artifact_id)
    with PIL.open(path) as image:
        image.load()
        return np.asarray(image), image.format


RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 3


@pytest.mark.parametrize("pillow", [True, False], ids=["pillow", "own-encoder"])
@pytest.mark.parametrize("array,expected", [
    (RGB, RGB),
    (np.dstack([RGB, np.full((4, 5), 200, np.uint8)]), np.dstack([RGB, np.full((4, 5), 200, np.uint8)])),
    (np.array([[0.0, 0.5], [1.0, 2.0]]), np.array([[0, 128], [255, 255]], np.uint8)),  # floats 0-1, clipped
    (np.array([[[0.25]], [[1.0]]], np.float32), np.array([[64], [255]], np.uint8)),  # HxWx1: grayscale
    (np.array([[True, False]]), np.array([[255, 0]], np.uint8)),
    (np.array([[7, 250]], np.int64), np.array([[7, 250]], np.uint8)),
], ids=["rgb-uint8", "rgba", "gray-float", "hw1-float32", "bool", "int64"])
def test_numpy_arrays_become_pngs_with_their_pixels(array, expected, pillow):
    data, fmt, width, height = _media.encode_image(array, pillow=pillow)
    assert fmt == "png" and (width, height) == (expected.shape[1], expected.shape[0])
    with PIL.open(io.BytesIO(data)) as image:
        assert np.array_equal(np.asarray(image), expected)


def test_bad_arrays_and_objects_are_refused():
    with pytest.raises(ValueError, match="shape"):
        _media.encode_image(np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(ValueError, match="0-255"):
        _media.encode_image(np.array([[300]]))
    with pytest.raises(ValueError, match="neither"):
        _media.encode_image(b"GIF89a....")
    with pytest.raises(TypeError, match="not builtins.dict"):
        _media.encode_image({"not": "an image"})


def test_every_kind_of_image_is_stored_and_listed_in_step_order(run, client, tmp_path):
    png_file = tmp_path / "given.png"
    PIL.fromarray(RGB).save(png_file)
    jpeg = io.BytesIO()
    PIL.fromarray(RGB).resize((40, 30)).save(jpeg, format="JPEG")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(2, 1.5), dpi=50)
    axes.plot([0, 1], [1, 0])

    logged = [
        run.log_image("samples", RGB),                                   # step 0
        run.log_image("samples", str(png_file)),                         # 1: a path, stored as it is
        run.log_image("samples", jpeg.getvalue()),                       # 2: JPEG bytes
        run.log_image("samples", PIL.fromarray(RGB).convert("L")),       # 3: a PIL image
        run.log_image("samples", figure),                                # 4: a Matplotlib figure
        run.log_image("samples", RGB[:, :, 0], step=10),                 # an explicit step
    ]
    plt.close(figure)
    assert [a.name for a in logged] == ["samples/0.png", "samples/1.png", "samples/2.jpg", "samples/3.png",
                                        "samples/4.png", "samples/10.png"]
    assert all(a.type == tracking_pb2.ARTIFACT_TYPE_FIGURE for a in logged)
    assert dict(logged[2].metadata) == {"kind": "image", "key": "samples", "step": "2", "format": "jpeg",
                                        "width": "40", "height": "30"}
    assert run.log_image("samples", RGB).name == "samples/11.png"  # after the highest step
    run.log_image("samples", RGB[:2], step=1)  # step 1 again: a new version replaces it in the listing
    run.log_image("other", RGB)

    listed = run.images("samples")
    assert [(i.step, i.format, i.width, i.height) for i in listed] == [
        (0, "png", 5, 4), (1, "png", 5, 2), (2, "jpeg", 40, 30), (3, "png", 5, 4), (4, "png", 100, 75),
        (10, "png", 5, 4), (11, "png", 5, 4)]
    assert listed[0].artifact_id == logged[0].id and listed[1].version == 2
    assert tally.images(run.id, "samples") == listed  # from anywhere, by run id
    got, fmt = pixels(client, listed[0].artifact_id, tmp_path)
    assert fmt == "PNG" and np.array_equal(got, RGB)
    path = tmp_path / "given-back.png"
    client.download_artifact(path, logged[1].id)
    assert path.read_bytes() == png_file.read_bytes()  # files and bytes are stored as given
    assert np.array_equal(pixels(client, logged[3].id, tmp_path)[0], np.asarray(PIL.fromarray(RGB).convert("L")))
    assert run.images("missing") == []


def test_a_resumed_run_continues_after_its_images(daemon):
    with tally.start_run(unique("resume-img"), capture_env=False, system_metrics=False) as first:
        first.log_image("x", RGB)
        first.log_image("x", RGB)
    again = tally.resume_run(first.id, system_metrics=False)
    assert again.log_image("x", RGB).name == "x/2.png"
    again.end()


def test_logging_bytes_imports_no_imaging_library(daemon):
    code = ("import sys, tally\n"
            "run = tally.start_run('lazy-media', capture_env=False, system_metrics=False)\n"
            "data = open(sys.argv[1], 'rb').read()\n"
            "run.log_image('k', data)\n"
            "run.log_table('t', [{'a': 1}], format='jsonl')\n"
            "run.table('t')\n"
            "run.end()\n"
            "import json\n"
            "print(json.dumps([m for m in ('numpy', 'PIL', 'matplotlib', 'pandas', 'pyarrow') if m in sys.modules]))\n")
    png = _media.encode_png(1, 1, 1, b"\x80")
    with open(os.path.join(os.path.dirname(daemon.socket), "one.png"), "wb") as f:
        f.write(png)
    out = subprocess.run([sys.executable, "-c", code, f.name], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TALLY_SOCKET": daemon.socket})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
