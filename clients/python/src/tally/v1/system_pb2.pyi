from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
SAMPLE_KIND_LARGE: SampleKind
SAMPLE_KIND_SMALL: SampleKind
SAMPLE_KIND_UNSPECIFIED: SampleKind

class AccessToken(_message.Message):
    __slots__ = ["created_at_ms", "created_by", "expires_at_ms", "id", "name", "role"]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    created_at_ms: int
    created_by: str
    expires_at_ms: int
    id: str
    name: str
    role: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., id: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., created_by: _Optional[str] = ...) -> None: ...

class CreateTokenRequest(_message.Message):
    __slots__ = ["expires_in_s", "name", "role"]
    EXPIRES_IN_S_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    expires_in_s: int
    name: str
    role: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., expires_in_s: _Optional[int] = ...) -> None: ...

class CreateTokenResponse(_message.Message):
    __slots__ = ["secret", "token"]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    secret: str
    token: AccessToken
    def __init__(self, token: _Optional[_Union[AccessToken, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class EchoRequest(_message.Message):
    __slots__ = ["count", "delay_ms", "fail_code", "fail_message", "payload", "sample"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    FAIL_CODE_FIELD_NUMBER: _ClassVar[int]
    FAIL_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    count: int
    delay_ms: int
    fail_code: int
    fail_message: str
    payload: bytes
    sample: Sample
    def __init__(self, sample: _Optional[_Union[Sample, _Mapping]] = ..., payload: _Optional[bytes] = ..., count: _Optional[int] = ..., delay_ms: _Optional[int] = ..., fail_code: _Optional[int] = ..., fail_message: _Optional[str] = ...) -> None: ...

class EchoResponse(_message.Message):
    __slots__ = ["index", "payload", "received_bytes", "sample"]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    index: int
    payload: bytes
    received_bytes: int
    sample: Sample
    def __init__(self, sample: _Optional[_Union[Sample, _Mapping]] = ..., payload: _Optional[bytes] = ..., index: _Optional[int] = ..., received_bytes: _Optional[int] = ...) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ["artifact_path", "calls_in_flight", "dashboard_url", "listen_urls", "migrations", "open_connections", "pid", "protocol_version", "socket_path", "started_at_ms", "store_path", "uptime_ms", "version"]
    ARTIFACT_PATH_FIELD_NUMBER: _ClassVar[int]
    CALLS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    DASHBOARD_URL_FIELD_NUMBER: _ClassVar[int]
    LISTEN_URLS_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    OPEN_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOCKET_PATH_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STORE_PATH_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    artifact_path: str
    calls_in_flight: int
    dashboard_url: str
    listen_urls: _containers.RepeatedScalarFieldContainer[str]
    migrations: _containers.RepeatedScalarFieldContainer[str]
    open_connections: int
    pid: int
    protocol_version: int
    socket_path: str
    started_at_ms: int
    store_path: str
    uptime_ms: int
    version: str
    def __init__(self, version: _Optional[str] = ..., protocol_version: _Optional[int] = ..., pid: _Optional[int] = ..., uptime_ms: _Optional[int] = ..., store_path: _Optional[str] = ..., artifact_path: _Optional[str] = ..., socket_path: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., open_connections: _Optional[int] = ..., calls_in_flight: _Optional[int] = ..., migrations: _Optional[_Iterable[str]] = ..., dashboard_url: _Optional[str] = ..., listen_urls: _Optional[_Iterable[str]] = ...) -> None: ...

class ListTokensRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListTokensResponse(_message.Message):
    __slots__ = ["tokens"]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[AccessToken]
    def __init__(self, tokens: _Optional[_Iterable[_Union[AccessToken, _Mapping]]] = ...) -> None: ...

class PingRequest(_message.Message):
    __slots__ = ["payload"]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    def __init__(self, payload: _Optional[bytes] = ...) -> None: ...

class PingResponse(_message.Message):
    __slots__ = ["payload", "server_time_ms"]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    server_time_ms: int
    def __init__(self, payload: _Optional[bytes] = ..., server_time_ms: _Optional[int] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ["token"]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: AccessToken
    def __init__(self, token: _Optional[_Union[AccessToken, _Mapping]] = ...) -> None: ...

class Sample(_message.Message):
    __slots__ = ["c_int64", "c_point", "c_string", "f_bool", "f_bytes", "f_double", "f_fixed32", "f_fixed64", "f_float", "f_int32", "f_int64", "f_kind", "f_point", "f_sfixed32", "f_sfixed64", "f_sint32", "f_sint64", "f_string", "f_uint32", "f_uint64", "m_double", "m_point", "m_string", "o_step", "r_bool", "r_bytes", "r_double", "r_float", "r_int64", "r_kind", "r_point", "r_string", "r_uint32"]
    class MDoubleEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class MPointEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: SamplePoint
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[SamplePoint, _Mapping]] = ...) -> None: ...
    class MStringEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    C_INT64_FIELD_NUMBER: _ClassVar[int]
    C_POINT_FIELD_NUMBER: _ClassVar[int]
    C_STRING_FIELD_NUMBER: _ClassVar[int]
    F_BOOL_FIELD_NUMBER: _ClassVar[int]
    F_BYTES_FIELD_NUMBER: _ClassVar[int]
    F_DOUBLE_FIELD_NUMBER: _ClassVar[int]
    F_FIXED32_FIELD_NUMBER: _ClassVar[int]
    F_FIXED64_FIELD_NUMBER: _ClassVar[int]
    F_FLOAT_FIELD_NUMBER: _ClassVar[int]
    F_INT32_FIELD_NUMBER: _ClassVar[int]
    F_INT64_FIELD_NUMBER: _ClassVar[int]
    F_KIND_FIELD_NUMBER: _ClassVar[int]
    F_POINT_FIELD_NUMBER: _ClassVar[int]
    F_SFIXED32_FIELD_NUMBER: _ClassVar[int]
    F_SFIXED64_FIELD_NUMBER: _ClassVar[int]
    F_SINT32_FIELD_NUMBER: _ClassVar[int]
    F_SINT64_FIELD_NUMBER: _ClassVar[int]
    F_STRING_FIELD_NUMBER: _ClassVar[int]
    F_UINT32_FIELD_NUMBER: _ClassVar[int]
    F_UINT64_FIELD_NUMBER: _ClassVar[int]
    M_DOUBLE_FIELD_NUMBER: _ClassVar[int]
    M_POINT_FIELD_NUMBER: _ClassVar[int]
    M_STRING_FIELD_NUMBER: _ClassVar[int]
    O_STEP_FIELD_NUMBER: _ClassVar[int]
    R_BOOL_FIELD_NUMBER: _ClassVar[int]
    R_BYTES_FIELD_NUMBER: _ClassVar[int]
    R_DOUBLE_FIELD_NUMBER: _ClassVar[int]
    R_FLOAT_FIELD_NUMBER: _ClassVar[int]
    R_INT64_FIELD_NUMBER: _ClassVar[int]
    R_KIND_FIELD_NUMBER: _ClassVar[int]
    R_POINT_FIELD_NUMBER: _ClassVar[int]
    R_STRING_FIELD_NUMBER: _ClassVar[int]
    R_UINT32_FIELD_NUMBER: _ClassVar[int]
    c_int64: int
    c_point: SamplePoint
    c_string: str
    f_bool: bool
    f_bytes: bytes
    f_double: float
    f_fixed32: int
    f_fixed64: int
    f_float: float
    f_int32: int
    f_int64: int
    f_kind: SampleKind
    f_point: SamplePoint
    f_sfixed32: int
    f_sfixed64: int
    f_sint32: int
    f_sint64: int
    f_string: str
    f_uint32: int
    f_uint64: int
    m_double: _containers.ScalarMap[str, float]
    m_point: _containers.MessageMap[int, SamplePoint]
    m_string: _containers.ScalarMap[str, str]
    o_step: int
    r_bool: _containers.RepeatedScalarFieldContainer[bool]
    r_bytes: _containers.RepeatedScalarFieldContainer[bytes]
    r_double: _containers.RepeatedScalarFieldContainer[float]
    r_float: _containers.RepeatedScalarFieldContainer[float]
    r_int64: _containers.RepeatedScalarFieldContainer[int]
    r_kind: _containers.RepeatedScalarFieldContainer[SampleKind]
    r_point: _containers.RepeatedCompositeFieldContainer[SamplePoint]
    r_string: _containers.RepeatedScalarFieldContainer[str]
    r_uint32: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, f_double: _Optional[float] = ..., f_float: _Optional[float] = ..., f_int32: _Optional[int] = ..., f_int64: _Optional[int] = ..., f_uint32: _Optional[int] = ..., f_uint64: _Optional[int] = ..., f_sint32: _Optional[int] = ..., f_sint64: _Optional[int] = ..., f_fixed32: _Optional[int] = ..., f_fixed64: _Optional[int] = ..., f_sfixed32: _Optional[int] = ..., f_sfixed64: _Optional[int] = ..., f_bool: bool = ..., f_string: _Optional[str] = ..., f_bytes: _Optional[bytes] = ..., f_kind: _Optional[_Union[SampleKind, str]] = ..., f_point: _Optional[_Union[SamplePoint, _Mapping]] = ..., r_double: _Optional[_Iterable[float]] = ..., r_int64: _Optional[_Iterable[int]] = ..., r_string: _Optional[_Iterable[str]] = ..., r_bytes: _Optional[_Iterable[bytes]] = ..., r_kind: _Optional[_Iterable[_Union[SampleKind, str]]] = ..., r_point: _Optional[_Iterable[_Union[SamplePoint, _Mapping]]] = ..., m_string: _Optional[_Mapping[str, str]] = ..., m_double: _Optional[_Mapping[str, float]] = ..., m_point: _Optional[_Mapping[int, SamplePoint]] = ..., c_string: _Optional[str] = ..., c_int64: _Optional[int] = ..., c_point: _Optional[_Union[SamplePoint, _Mapping]] = ..., o_step: _Optional[int] = ..., r_bool: _Optional[_Iterable[bool]] = ..., r_uint32: _Optional[_Iterable[int]] = ..., r_float: _Optional[_Iterable[float]] = ...) -> None: ...

class SamplePoint(_message.Message):
    __slots__ = ["key", "step", "value"]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    step: int
    value: float
    def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ..., step: _Optional[int] = ...) -> None: ...

class SampleKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
