"""Every RPC of every service in proto/ reaches the daemon's implementation through the
generated stubs: a default request ends OK or with a status other than UNIMPLEMENTED/INTERNAL."""
import re

import pytest

import tally
from test_generated import all_methods, shape, snake


@pytest.mark.parametrize("pb2,stubs,service,method", list(all_methods()), ids=lambda x: getattr(x, "full_name", None))
def test_rpc_is_served(client, pb2, stubs, service, method):
    request_type, _, kind = stubs.METHODS[f"/{service.full_name}/{method.name}"]
    stub = getattr(client, snake(service.name))
    fn = getattr(stub, snake(method.name))
    try:
        if kind == "unary":
            fn(request_type(), timeout=10)
        elif kind == "server_streaming":
            with fn(request_type(), timeout=10) as responses:
                responses.next(timeout=1)
        elif kind == "client_streaming":
            fn(iter([request_type()]), timeout=10)
        else:
            with fn(iter([]), timeout=10) as responses:
                responses.next(timeout=1)
    except StopIteration:
        pass
    except tally.RPCError as error:
        assert error.code_name not in ("UNIMPLEMENTED", "INTERNAL", "DEADLINE_EXCEEDED"), str(error)
