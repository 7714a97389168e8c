"""OME-Zarr HCS plates on S3 (moto) and HTTP: recognised by `plate ADDRESS` and the plate
reader the plate view uses, through register_plate_reader; thumbnails read remotely."""

from __future__ import annotations

import json

import pytest

from polystore_gui.cli import main
from tests.plates import write_ome_plate
from tests.remote_servers import LatencyHTTPServer, upload_folder


@pytest.fixture
def plate_url(request, tmp_path, aws_env):
    """The same 0.5 plate (3 wells, 2 fields each) on moto's S3 and on the HTTP host."""
    folder = tmp_path / "served"
    write_ome_plate(folder / "plate.zarr", version="0.5", wells=["A/1", "A/3", "B/2"], levels=2, edge=32)
    if request.param == "s3":
        moto = request.getfixturevalue("s3_keys")
        upload_folder(moto.client(), "data", str(folder / "plate.zarr"), f"plates-{tmp_path.name}/plate.zarr")
        yield f"s3://data/plates-{tmp_path.name}/plate.zarr"
        return
    server = LatencyHTTPServer(str(folder), latency=0.01).start()
    try:
        yield server.url + "/plate.zarr"
    finally:
        server.stop()


@pytest.mark.parametrize("plate_url", ["s3", "http"], indirect=True)
def test_a_remote_ome_plate_is_recognised_and_its_thumbnails_read(plate_url):
    from polystore_gui.model.backends.plate import plate_at
    from polystore_gui.model.plate_thumbs import plate_thumbnails

    plate = plate_at("zarr", plate_url)
    assert plate is not None and plate.kind == "ome-plate" and plate.version == "0.5"
    assert [w.path for w in plate.wells] == ["A/1", "A/3", "B/2"] and not plate.notes
    assert plate.wells[0].fields[0].address == f"ome_zarr:{plate_url}/A/1/0"
    thumbs = list(plate_thumbnails(plate, cache=None))
    assert [t.well for t in thumbs] == ["A/1", "A/3", "B/2"]
    assert all(t.pixels is not None and t.shape == (2, 16, 16) for t in thumbs), [t.error for t in thumbs]


@pytest.mark.parametrize("plate_url", ["s3", "http"], indirect=True)
def test_plate_command_on_a_remote_plate(plate_url, capsys):
    code = main(["plate", plate_url, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "ome-plate" and doc["rows"] == ["A", "B"] and doc["columns"] == ["1", "2", "3"]
    assert [w["path"] for w in doc["wells"]] == ["A/1", "A/3", "B/2"]


@pytest.mark.parametrize("plate_url", ["http"], indirect=True)
def test_a_remote_group_that_is_no_plate_says_so(plate_url, capsys):
    code = main(["plate", plate_url + "/A/1/0", "--json"])
    _, err = capsys.readouterr()
    assert code != 0 and "is not a plate" in err


@pytest.mark.parametrize("plate_url", ["http"], indirect=True)
def test_the_plate_view_shows_a_remote_plate_with_its_thumbnails(plate_url, qtbot, tmp_path):
    from tests.qt.helpers import preview_panel

    with preview_panel(qtbot, 1200, 800) as panel:
        view = panel.plate_view
        view.cache_folder = str(tmp_path / "cache")
        panel.request("zarr", plate_url)
        qtbot.waitUntil(lambda: panel.stack.currentWidget() is view, timeout=30_000)
        qtbot.waitUntil(lambda: not view.loading, timeout=30_000)
        assert view.plate.path == plate_url and (len(view.plate.rows), len(view.plate.columns)) == (2, 3)
        assert set(view.grid.thumbnails) == {"A/1", "A/3", "B/2"} and not view.grid.failed


def test_remote_wells_after_the_first_cost_one_request_each_and_a_different_well_is_read_as_it_is(tmp_path):
    """The first well's lowest level is opened from its metadata; the next wells, laid out
    alike, only fetch their chunk. A well without that level (B/2 has one level) is read
    from its own metadata, not as the fill value of a level it lacks."""
    import numpy as np

    from polystore_gui.model.backends.plate import plate_at
    from polystore_gui.model.plate_thumbs import plate_thumbnails
    from polystore_gui.model.remote_zarr import read_session
    from tests.plates import rewrite_field

    folder = tmp_path / "served"
    path = write_ome_plate(folder / "plate.zarr", version="0.5", wells=["A/1", "A/2", "A/3", "B/2"], levels=2, edge=32)
    rewrite_field(path, "B/2", np.random.default_rng(1).integers(1, 900, (2, 32, 32)).astype(np.uint16), 1)
    server = LatencyHTTPServer(str(folder), latency=0.0).start()
    try:
        plate = plate_at("zarr", server.url + "/plate.zarr")
        server.requests.clear()
        with read_session():
            thumbs = {t.well: t for t in plate_thumbnails(plate, cache=None)}
        asked = list(server.requests)
    finally:
        server.stop()
    assert all(t.pixels is not None for t in thumbs.values()), {w: t.error for w, t in thumbs.items()}
    assert thumbs["A/2"].shape == thumbs["A/3"].shape == (2, 16, 16)
    assert thumbs["B/2"].shape == (2, 32, 32) and thumbs["B/2"].pixels.max() == 255
    for well in ("A/2", "A/3"):
        assert [a for a in asked if f"/{well}/" in a] == [f"/plate.zarr/{well}/0/s1/c/0/0/0"], asked


@pytest.mark.parametrize("plate_url", ["s3", "http"], indirect=True)
def test_plate_and_info_on_a_remote_well_address(plate_url, capsys):
    """As for a local well: ``plate`` on a well prints its plate, ``info`` names the well,
    its fields and its plate."""
    code = main(["plate", plate_url + "/A/3", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "ome-plate" and doc["address"].endswith(plate_url)
    assert [w["path"] for w in doc["wells"]] == ["A/1", "A/3", "B/2"]
    code = main(["info", plate_url + "/B/2", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    well = json.loads(out)["well"]
    assert well["name"] == "B02" and well["plate"].endswith(plate_url)
    assert well["fields"] == [f"ome_zarr:{plate_url}/B/2/0", f"ome_zarr:{plate_url}/B/2/1"]


@pytest.mark.parametrize("plate_url", ["s3", "http"], indirect=True)
def test_remote_plate_thumbnails_are_cached_on_disk_by_the_plates_version(plate_url, request, tmp_path):
    """Reopened, a remote plate's thumbnails come from the disk cache (no chunk read); once
    its metadata object is written again (a new ETag / Last-Modified), they are read again."""
    import os

    from polystore_gui.model.backends.plate import plate_at
    from polystore_gui.model.plate_thumbs import ThumbnailCache, plate_thumbnails
    from polystore_gui.model.remote_zarr import read_session

    def thumbnails():
        plate = plate_at("zarr", plate_url)
        with read_session():
            return {t.well: t for t in plate_thumbnails(plate, cache=ThumbnailCache(str(tmp_path / "cache")))}

    first = thumbnails()
    assert sorted(first) == ["A/1", "A/3", "B/2"] and not any(t.cached for t in first.values())
    again = thumbnails()
    assert all(t.cached for t in again.values())
    assert all((again[w].pixels == first[w].pixels).all() for w in first)
    if plate_url.startswith("s3://"):  # the plate's metadata written again: a new ETag
        bucket, key = plate_url.removeprefix("s3://").split("/", 1)
        client = request.getfixturevalue("s3_keys").client()
        body = client.get_object(Bucket=bucket, Key=f"{key}/zarr.json")["Body"].read()
        client.put_object(Bucket=bucket, Key=f"{key}/zarr.json", Body=body + b" ")
    else:  # a static host's Last-Modified is the file's time
        document = tmp_path / "served" / "plate.zarr" / "zarr.json"
        later = os.stat(document).st_mtime + 100
        os.utime(document, (later, later))
    assert not any(t.cached for t in thumbnails().values())
