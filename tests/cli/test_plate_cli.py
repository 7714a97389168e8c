"""``polystore-gui plate`` and the plate / well part of ``info``, run as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import run
from tests.plates import write_ome_plate, write_polystore_plate, write_tiff_plate, write_workspace_plate


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_plate_json_of_an_ome_zarr_plate(tmp_path, version):
    path = write_ome_plate(tmp_path / "plate.zarr", version=version, wells=["A/1", "B/3"], levels=2)
    out = run("plate", f"ome_zarr:{path}", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "ome-plate" and doc["version"] == version
    assert doc["rows"] == ["A", "B"] and doc["columns"] == ["1", "2", "3"]
    assert doc["field_count"] == 2 and doc["acquisitions"][0]["id"] == 0
    b3 = doc["wells"][1]
    assert (b3["path"], b3["row"], b3["column"], b3["acquisition"]) == ("B/3", "B", "3", 0)
    assert b3["fields"] == [f"ome_zarr:{path}/B/3/0", f"ome_zarr:{path}/B/3/1"]
    # Each field address is one the CLI takes: info describes it as an OME-NGFF image.
    field = json.loads(run("info", b3["fields"][1], "--json").stdout)
    assert field["ome"]["version"] == version


def test_plate_text_polystore_plate_and_info_on_plate_and_well(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate")
    out = run("plate", str(folder))
    assert out.returncode == 0, out.stderr
    assert "polystore-plate" in out.stdout and "3 rows × 4 columns" in out.stdout
    assert "C02    C/02  1 fields" in out.stdout and "condition dose 2" in out.stdout
    info = json.loads(run("info", f"zarr:{folder}/images", "--json").stdout)
    assert info["plate"]["kind"] == "polystore-plate" and len(info["plate"]["wells"]) == 3
    well = json.loads(run("info", f"{folder}/images/A/03", "--json").stdout)
    assert well["well"]["name"] == "A03" and well["well"]["plate"] == f"disk:{folder}/images"
    text = run("info", f"{folder}/images/A/03").stdout
    assert "well          A03" in text and f"field         ome_zarr:{folder}/images/A/03/0" in text


def test_plate_of_tiffs_and_bad_addresses(tmp_path):
    folder = write_tiff_plate(tmp_path / "t", ["r01c02f01p01-ch1sk1fk1fl1.tiff", "r02c01f01p01-ch1sk1fk1fl1.tiff"])
    doc = json.loads(run("plate", str(folder), "--json").stdout)
    assert doc["kind"] == "tiff-plate" and [w["name"] for w in doc["wells"]] == ["A02", "B01"]
    out = run("plate", str(tmp_path / "missing"))
    assert out.returncode == 1 and "does not exist" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "empty").mkdir()
    out = run("plate", str(tmp_path / "empty"))
    assert out.returncode == 1 and "is not a plate" in out.stderr
    out = run("plate", "nosuchbackend:/x")
    assert out.returncode == 2


def test_plate_notes_for_a_lying_plate(tmp_path):
    path = write_ome_plate(tmp_path / "p.zarr", wells=["A/1", "A/2"], fields=2, field_count=1, levels=1)
    import shutil

    shutil.rmtree(path / "A" / "2")
    out = run("plate", str(path))
    assert out.returncode == 0
    assert "note          the metadata says field_count 1" in out.stdout
    assert "note          well A/2 listed by the plate but missing" in out.stdout
    assert "A ##." not in out.stdout and "A #o." in out.stdout


def test_virtual_workspace_works_on_a_plate_that_has_its_workspace_file(tmp_path):
    folder = write_workspace_plate(tmp_path / "plate")
    doc = json.loads(run("plate", str(folder), "--json").stdout)
    assert doc["kind"] == "polystore-plate" and doc["workspace"] == f"virtual_workspace:{folder}"
    assert [w["name"] for w in doc["wells"]] == ["A01", "B02"]
    listed = json.loads(run("ls", f"virtual_workspace:{folder}/workspace", "--json").stdout)
    assert [(e["name"], e["kind"]) for e in listed] == [("A01_s1_w1.tif", "virtual file"), ("B02_s1_w1.tif", "virtual file")]
    info = json.loads(run("info", f"virtual_workspace:{folder}/workspace/B02_s1_w1.tif", "--json").stdout)
    assert info["kind"] == "array" and info["shape"] == [8, 8] and info["dtype"] == "uint16"
    out = run("ls", f"virtual_workspace:{tmp_path}")
    assert out.returncode == 1 and "not in a plate folder with a virtual workspace" in out.stderr


def test_ls_of_a_polystore_field_lists_its_virtual_files_under_disk_and_zarr(tmp_path):
    folder = write_polystore_plate(tmp_path / "plate", wells=(("B", "02"),))
    for address in (f"{folder}/images/B/02/0/0", f"zarr:{folder}/images/B/02/0/0"):
        names = [e["name"] for e in json.loads(run("ls", address, "--json").stdout)]
        assert names == ["B02_c1_z1.tif", "B02_c1_z2.tif", "B02_c2_z1.tif", "B02_c2_z2.tif"], address
