"""The generated stubs match the .proto descriptors, and Python agrees byte for byte with the
shared wire vectors (Tests/TallyProtoTests/Vectors/vectors.json)."""
import importlib
import inspect
import json
import re
import struct
from pathlib import Path

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.message_factory import GetMessageClass

import tally
import tally.aio
import tally.v1
from tally import _wire
from tally.v1 import system_tally, tracking_tally, wire_pb2

VECTORS = Path(__file__).resolve().parents[3] / "Tests" / "TallyProtoTests" / "Vectors" / "vectors.json"
PROTO = Path(__file__).resolve().parents[3] / "proto"


def proto_modules():
    """(pb2, stubs) of every .proto file with services, found from proto/ itself."""
    out = []
    for path in sorted(PROTO.rglob("*.proto")):
        base = str(path.relative_to(PROTO).with_suffix("")).replace("/", ".")
        pb2 = importlib.import_module(f"tally.{base[len('tally.'):]}_pb2")
        if pb2.DESCRIPTOR.services_by_name:
            out.append((pb2, importlib.import_module(f"tally.{base[len('tally.'):]}_tally")))
    return out


MODULES = proto_modules()


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def all_methods():
    for pb2, stubs in MODULES:
        for service in pb2.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield pb2, stubs, service, method


def shape(method) -> str:
    return {(False, False): "unary", (False, True): "server_streaming",
            (True, False): "client_streaming", (True, True): "bidi_streaming"}[
        (method.client_streaming, method.server_streaming)]


@pytest.mark.parametrize("pb2,stubs,service,method", list(all_methods()),
                         ids=lambda x: getattr(x, "full_name", None))
def test_every_rpc_has_stub_methods(pb2, stubs, service, method):
    path = f"/{service.full_name}/{method.name}"
    request_type, response_type, kind = stubs.METHODS[path]
    assert request_type.DESCRIPTOR is method.input_type
    assert response_type.DESCRIPTOR is method.output_type
    assert kind == shape(method)
    for suffix, is_async in (("Stub", False), ("AsyncStub", True)):
        cls = getattr(stubs, service.name + suffix)
        fn = getattr(cls, snake(method.name))
        assert inspect.iscoroutinefunction(fn) == (is_async and kind in ("unary", "client_streaming"))
        assert fn.__doc__ and fn.__doc__.strip()


def test_methods_table_has_nothing_else():
    expected = {f"/{s.full_name}/{m.name}" for _, _, s, m in all_methods()}
    actual = set().union(*(stubs.METHODS for _, stubs in MODULES))
    assert actual == expected
    assert len(MODULES) >= 3


def test_clients_have_every_service():
    client = tally.Client(tally.Channel("/nonexistent"))
    aclient = tally.aio.AsyncClient(tally.aio.AsyncChannel("/nonexistent"))
    for _, _, service, _ in all_methods():
        assert isinstance(getattr(client, snake(service.name)), getattr(importlib.import_module(
            service.file.name.replace("/", ".").replace(".proto", "_tally")), service.name + "Stub"))
        assert type(getattr(aclient, snake(service.name))).__name__ == service.name + "AsyncStub"


def test_docstrings_come_from_the_proto_comments():
    assert tracking_tally.TrackingStub.watch_run.__doc__.startswith("Follows a run")
    assert "Daemon information" in system_tally.SystemStub.__doc__


def load_vectors():
    return json.loads(VECTORS.read_text())


def message_class(full_name: str):
    return GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(full_name))


@pytest.mark.parametrize("vector", load_vectors()["valid"], ids=lambda v: f"{v['message']}.{v['name']}")
def test_message_vectors_round_trip(vector):
    data = bytes.fromhex(vector["hex"])
    msg = message_class(vector["message"]).FromString(data)
    assert msg.SerializeToString(deterministic=True) == data


@pytest.mark.parametrize("vector", load_vectors()["frames"], ids=lambda v: v["name"])
def test_frame_vectors_encode_and_decode(vector):
    data = bytes.fromhex(vector["hex"])
    payload = bytes.fromhex(vector["payload"])
    assert _wire.encode_frame(vector["kind"], vector["call_id"], payload, vector["flags"]) == data
    frames = list(_wire.decode_frames(data))
    assert frames == [_wire.Frame(vector["kind"], vector["flags"], vector["call_id"], payload)]
    # Split anywhere, the decoder gives the same frame.
    for cut in (1, 5, 11, 12, 13, len(data) - 1):
        if 0 < cut < len(data):
            decoder = _wire.FrameDecoder()
            assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) == frames


def test_frame_vectors_match_the_client_messages():
    frames = {v["name"]: v for v in load_vectors()["frames"]}
    hello = bytes.fromhex(frames["hello"]["hex"])
    assert hello == _wire.hello_frame(4194304, 1048576, "tally-swift")
    start = bytes.fromhex(frames["start_ping"]["payload"])
    assert start == _wire.start_payload("/tally.v1.System/Ping", 5.0, None)
    assert bytes.fromhex(frames["window"]["hex"]) == _wire.window_frame(4, 524300)
    error = _wire.status_of_end(bytes.fromhex(frames["end_unimplemented"]["payload"]))
    assert error is not None and error.code_name == "UNIMPLEMENTED"
    assert _wire.status_of_end(b"") is None
    goaway, last = _wire.status_of_goaway(bytes.fromhex(frames["goaway_draining"]["payload"]))
    assert goaway.code == 14 and last == 7


@pytest.mark.parametrize("bad,reason", [
    (b"\xa0" + bytes(11), "magic"),
    (b"\xa1\x03\x00\x01" + bytes(8), "reserved"),
    (b"\xa1\x0b\x00\x00" + bytes(8), "kind"),
    (b"\xa1\x03\x00\x00" + struct.pack(">II", 1, 5 << 20), "limit"),
])
def test_decoder_rejects_broken_frames(bad, reason):
    with pytest.raises(_wire.FrameError, match=reason):
        _wire.FrameDecoder().feed(bad)


def test_wire_messages_are_the_documented_ones():
    assert wire_pb2.Hello.DESCRIPTOR.full_name == "tally.v1.Hello"
