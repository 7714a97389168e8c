"""The catalogue describes polystore's own registry: real classes, real instances."""

from __future__ import annotations

from polystore_gui.model.catalogue import Capability, Status, discover_backends


def test_every_registered_backend_is_described(discovery):
    from polystore.backend_registry import STORAGE_BACKENDS

    assert sorted(discovery.keys) == sorted(STORAGE_BACKENDS.keys())
    assert {"disk", "memory", "zarr", "ome_zarr", "napari_stream", "fiji_stream"} <= set(discovery.keys)


def test_capabilities_come_from_the_class_hierarchy(discovery):
    from polystore.backend_registry import STORAGE_BACKENDS
    from polystore.base import StorageBackend

    for info in discovery.backends:
        cls = STORAGE_BACKENDS[info.key]
        if info.capability is Capability.READ_WRITE:
            assert issubclass(cls, StorageBackend)
    assert discovery.get("disk").capability is Capability.READ_WRITE
    assert discovery.get("memory").capability is Capability.READ_WRITE
    assert discovery.get("ome_zarr").capability is Capability.READ_ONLY
    assert discovery.get("napari_stream").capability is Capability.SINK
    assert discovery.get("fiji_stream").capability is Capability.SINK


def test_context_bound_backends_say_what_they_need(discovery):
    for key in ("omero_local", "bioformats"):
        info = discovery.get(key)
        assert info.capability is Capability.NEEDS_CONTEXT
        assert info.status is Status.NEEDS_CONTEXT
        assert info.label.startswith("needs context: ")


def test_virtual_workspace_finds_its_plate_root_itself_and_says_what_to_do(discovery):
    """Its plate root is the plate folder an address names: a read-only source whose row
    lists the plates met, not "needs context"."""
    info = discovery.get("virtual_workspace")
    assert info.capability is Capability.READ_ONLY and info.status is Status.READY
    assert info.label == "read-only source: the workspaces of plates you open"
    assert "polystore_metadata.json" in info.context_detail and "Select a plate folder" in info.context_detail


def test_a_backend_whose_constructor_raises_stays_listed_with_its_error():
    from polystore.backend_registry import STORAGE_BACKENDS, _backend_instances
    from polystore.base import StorageBackend

    class ExplodingBackend(StorageBackend):  # registered by polystore's metaclass
        _backend_type = "exploding_test"

        def __init__(self):
            raise OSError("mount point /mnt/plates is not reachable")

        def load(self, file_path, **kwargs): ...
        def save(self, data, output_path, **kwargs): ...
        def list_files(self, directory, pattern=None, extensions=None, recursive=False): ...
        def list_dir(self, path): ...
        def delete(self, path): ...
        def delete_all(self, path): ...
        def ensure_directory(self, directory): ...
        def create_symlink(self, source, link_name, overwrite=False): ...
        def is_symlink(self, path): ...
        def is_file(self, path): ...
        def is_dir(self, path): ...
        def move(self, src, dst): ...
        def copy(self, src, dst): ...
        def stat(self, path): ...
        def load_batch(self, file_paths, **kwargs): ...
        def save_batch(self, data_list, output_paths, **kwargs): ...

    try:
        assert "exploding_test" in STORAGE_BACKENDS
        discovery = discover_backends()
        info = discovery.get("exploding_test")
        assert info is not None
        assert info.status is Status.ERROR
        assert "mount point /mnt/plates is not reachable" in (info.error or "")
        # Everything else still works.
        assert discovery.get("disk").status is Status.READY
        assert discovery.get("memory").status is Status.READY
    finally:
        dict.pop(STORAGE_BACKENDS, "exploding_test", None)
        _backend_instances.pop("exploding_test", None)
    assert "exploding_test" not in STORAGE_BACKENDS
