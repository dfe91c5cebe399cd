from tally.v1 import tracking_pb2 as _tracking_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JournalRecord(_message.Message):
    __slots__ = ["end_run", "metrics", "params", "resume_run", "start_run", "tags"]
    END_RUN_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RESUME_RUN_FIELD_NUMBER: _ClassVar[int]
    START_RUN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    end_run: _tracking_pb2.EndRunRequest
    metrics: _tracking_pb2.MetricBatch
    params: _tracking_pb2.LogParamsRequest
    resume_run: _tracking_pb2.ResumeRunRequest
    start_run: _tracking_pb2.StartRunRequest
    tags: _tracking_pb2.SetRunTagsRequest
    def __init__(self, start_run: _Optional[_Union[_tracking_pb2.StartRunRequest, _Mapping]] = ..., metrics: _Optional[_Union[_tracking_pb2.MetricBatch, _Mapping]] = ..., params: _Optional[_Union[_tracking_pb2.LogParamsRequest, _Mapping]] = ..., tags: _Optional[_Union[_tracking_pb2.SetRunTagsRequest, _Mapping]] = ..., end_run: _Optional[_Union[_tracking_pb2.EndRunRequest, _Mapping]] = ..., resume_run: _Optional[_Union[_tracking_pb2.ResumeRunRequest, _Mapping]] = ...) -> None: ...
