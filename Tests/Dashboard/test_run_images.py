"""The run page's Images section (Sources/TallyGateway/Dashboard/views/run.js): images logged with
the real Python client's `run.log_image`, one card per key with a slider over the steps, each image
fetched through the gateway's DownloadArtifact stream and shown from an object URL."""
import io

import numpy as np
import pytest

from conftest import assert_no_console_errors, open_page

CARD_JS = """
const card = document.querySelector(`[data-test=image-card][data-key="${arguments[0]}"]`);
if (!card) return null;
const slider = card.querySelector('[data-test=image-slider]');
const img = card.querySelector('[data-test=image]');
const step = card.querySelector('[data-test=image-step]');
return {state: card.dataset.state, steps: card.dataset.steps, cardStep: card.dataset.step,
        min: slider.min, max: slider.max, value: slider.value, type: slider.type,
        step: step.dataset.step, stepText: step.innerText.trim(),
        artifactId: img.dataset.artifactId || '', src: img.getAttribute('src') || '', hidden: img.hidden,
        complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight};
"""

SLIDE_JS = """
const slider = document.querySelector(`[data-test=image-card][data-key="${arguments[0]}"] [data-test=image-slider]`);
slider.value = String(arguments[1]);
slider.dispatchEvent(new Event('input', {bubbles: true}));
slider.dispatchEvent(new Event('change', {bubbles: true}));
"""

BLOB_TYPE_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.blob()).then(b => done({type: b.type, size: b.size}), e => done({error: String(e)}));
"""


def card(browser, key):
    return browser.driver.execute_script(CARD_JS, key)


def slide(browser, key, position):
    browser.driver.execute_script(SLIDE_JS, key, position)


def wait_shown(browser, key, step, artifact_id, width, height, timeout=20):
    """Waits until the card of `key` is at `step` with the version `artifact_id` decoded in its <img>."""
    def check():
        c = card(browser, key)
        return (c and c["step"] == str(step) and c["artifactId"] == artifact_id and c["state"] == "loaded"
                and c["complete"] and c["naturalWidth"] == width and c["naturalHeight"] == height and c)
    return browser.wait_until(check, timeout=timeout,
                              describe=lambda: f"{key} at step {step} ({artifact_id}, {width}x{height}): {card(browser, key)}")


def picture(width, height, seed):
    """An RGB uint8 array, HxWx3, different for every seed."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_run_page_shows_images_with_a_step_slider(browser, seeded, client, tmp_path):
    run = client.start_run("images", name="with-images")
    sizes = {0: (16, 12), 5: (40, 30), 10: (64, 48)}  # step → (width, height)
    logged = {step: run.log_image("samples", picture(w, h, step), step=step) for step, (w, h) in sizes.items()}
    # Step 5 logged again: the page shows the highest version of a step.
    relogged = run.log_image("samples", picture(24, 20, 99), step=5)
    assert relogged.version > logged[5].version
    logged[5], sizes[5] = relogged, (24, 20)
    mask = run.log_image("masks", (picture(8, 6, 7)[:, :, 0] > 127), step=3)  # grayscale PNG
    jpeg = None
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        buffer = io.BytesIO()
        Image.fromarray(picture(30, 20, 3)).save(buffer, format="JPEG")
        jpeg = run.log_image("photos", buffer.getvalue(), step=1)
        assert jpeg.name == "photos/1.jpg" and jpeg.metadata["format"] == "jpeg"
    # A figure that log_image did not make (no key/step metadata) is no image card.
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"not really a png")
    run.log_artifact(plot, name="plot.png", type="figure")
    run.end()

    open_page(browser, f"/run/{run.id}")
    section = browser.driver.execute_script(
        "const s = document.querySelector('[data-test=run-images]'); return s && {hidden: s.hidden, count: s.dataset.count}")
    keys = ["masks", "photos", "samples"] if jpeg else ["masks", "samples"]
    assert section == {"hidden": False, "count": str(len(keys))}, section
    assert browser.driver.execute_script(
        "return [...document.querySelectorAll('[data-test=image-card]')].map(c => c.dataset.key)") == keys

    # Three positions, at the latest step first.
    first = card(browser, "samples")
    assert first["type"] == "range" and first["steps"] == "3", first
    assert (first["min"], first["max"], first["value"]) == ("0", "2", "2"), first
    assert first["step"] == "10" and "10" in first["stepText"], first
    shown = wait_shown(browser, "samples", 10, logged[10].id, *sizes[10])
    blob = browser.driver.execute_async_script(BLOB_TYPE_JS, shown["src"])
    assert blob == {"type": "image/png", "size": logged[10].size}, blob

    # The first position: step 0 and its image.
    slide(browser, "samples", 0)
    zero = wait_shown(browser, "samples", 0, logged[0].id, *sizes[0])
    assert zero["value"] == "0" and zero["stepText"] == "step 0", zero
    assert zero["src"] != shown["src"]
    # The middle one is step 5 as logged the second time.
    slide(browser, "samples", 1)
    wait_shown(browser, "samples", 5, logged[5].id, *sizes[5])
    # The buttons move too, and an image seen before comes from the cache (same object URL).
    browser.driver.find_element("css selector", "[data-test=image-card][data-key=samples] [data-test=image-next]").click()
    again = wait_shown(browser, "samples", 10, logged[10].id, *sizes[10])
    assert again["src"] == shown["src"] and again["value"] == "2"

    masks = wait_shown(browser, "masks", 3, mask.id, 8, 6)
    assert masks["steps"] == "1"
    if jpeg:
        photo = wait_shown(browser, "photos", 1, jpeg.id, 30, 20)
        blob = browser.driver.execute_async_script(BLOB_TYPE_JS, photo["src"])
        assert blob == {"type": "image/jpeg", "size": jpeg.size}, blob
    assert_no_console_errors(browser)

    # Leaving the page revokes its object URLs.
    browser.driver.execute_script("location.hash = '#/experiments'")
    browser.wait_until(lambda: browser.driver.execute_script(
        "const m = document.querySelector('main[data-test=view]'); return m.dataset.view === 'experiments' && m.dataset.ready === 'true'"),
        describe=lambda: "the experiments view")
    gone = browser.driver.execute_async_script(BLOB_TYPE_JS, shown["src"])
    assert "error" in gone, gone


def test_run_page_without_images_has_no_images_section(browser, seeded):
    run = next(r for r in seeded.runs_of("mnist-cnn") if r.status == "completed")
    open_page(browser, f"/run/{run.id}")
    assert browser.driver.execute_script("return document.querySelectorAll('[data-test=image-card]').length") == 0
    assert browser.driver.execute_script(
        "const s = document.querySelector('[data-test=run-images]'); return !s || s.hidden && s.offsetParent === null")
    assert "Images" not in [e.text for e in browser.driver.find_elements("css selector", "main h2")]
    assert_no_console_errors(browser)


def test_a_live_runs_image_slider_extends_as_images_arrive(browser, seeded, client):
    run = client.start_run("images-live", name="live-images")
    try:
        ids = {step: run.log_image("samples", picture(10 + step, 8, step), step=step).id for step in (0, 1)}
        open_page(browser, f"/run/{run.id}")
        assert browser.driver.execute_script("return document.querySelector('[data-test=run-status]').dataset.status") == "running"
        wait_shown(browser, "samples", 1, ids[1], 11, 8)
        # A new step while the slider is at the latest one: the range grows and the card follows it.
        ids[2] = run.log_image("samples", picture(12, 8, 2), step=2).id
        followed = wait_shown(browser, "samples", 2, ids[2], 12, 8, timeout=30)
        assert (followed["steps"], followed["max"], followed["value"]) == ("3", "2", "2"), followed
        # Away from the latest step, the card stays where it is while the range grows.
        slide(browser, "samples", 0)
        wait_shown(browser, "samples", 0, ids[0], 10, 8)
        ids[3] = run.log_image("samples", picture(13, 8, 3), step=3).id
        browser.wait_until(lambda: card(browser, "samples")["max"] == "3", timeout=30,
                           describe=lambda: f"the slider over 4 steps: {card(browser, 'samples')}")
        stayed = card(browser, "samples")
        assert (stayed["steps"], stayed["value"], stayed["step"]) == ("4", "0", "0"), stayed
        # A key that appears while the page is open gets its card.
        extra = run.log_image("late", picture(5, 5, 5), step=7).id
        wait_shown(browser, "late", 7, extra, 5, 5, timeout=30)
        assert_no_console_errors(browser)
    finally:
        run.end()
