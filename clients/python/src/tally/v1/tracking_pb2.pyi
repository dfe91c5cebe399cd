from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ARTIFACT_TYPE_DATASET: ArtifactType
ARTIFACT_TYPE_FIGURE: ArtifactType
ARTIFACT_TYPE_MODEL: ArtifactType
ARTIFACT_TYPE_OTHER: ArtifactType
ARTIFACT_TYPE_UNSPECIFIED: ArtifactType
DESCRIPTOR: _descriptor.FileDescriptor
METRIC_GOAL_MAXIMIZE: MetricGoal
METRIC_GOAL_MINIMIZE: MetricGoal
METRIC_GOAL_UNSPECIFIED: MetricGoal
RUN_STATUS_COMPLETED: RunStatus
RUN_STATUS_CRASHED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_KILLED: RunStatus
RUN_STATUS_RUNNING: RunStatus
RUN_STATUS_UNSPECIFIED: RunStatus

class Artifact(_message.Message):
    __slots__ = ["aliases", "created_at_ms", "experiment_id", "file_count", "files_size", "folder", "id", "metadata", "name", "run_id", "sha256", "size", "type", "version"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FILES_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    created_at_ms: int
    experiment_id: str
    file_count: int
    files_size: int
    folder: bool
    id: str
    metadata: _containers.ScalarMap[str, str]
    name: str
    run_id: str
    sha256: str
    size: int
    type: ArtifactType
    version: int
    def __init__(self, id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., run_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[ArtifactType, str]] = ..., version: _Optional[int] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., aliases: _Optional[_Iterable[str]] = ..., created_at_ms: _Optional[int] = ..., folder: bool = ..., file_count: _Optional[int] = ..., files_size: _Optional[int] = ...) -> None: ...

class ArtifactFile(_message.Message):
    __slots__ = ["path", "sha256", "size"]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    path: str
    sha256: str
    size: int
    def __init__(self, path: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ArtifactHeader(_message.Message):
    __slots__ = ["aliases", "expected_sha256", "folder", "metadata", "name", "run_id", "type"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHA256_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    aliases: _containers.RepeatedScalarFieldContainer[str]
    expected_sha256: str
    folder: bool
    metadata: _containers.ScalarMap[str, str]
    name: str
    run_id: str
    type: ArtifactType
    def __init__(self, run_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[ArtifactType, str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., expected_sha256: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., folder: bool = ...) -> None: ...

class ArtifactRef(_message.Message):
    __slots__ = ["alias", "artifact_id", "experiment_id", "name", "run_id", "version"]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    alias: str
    artifact_id: str
    experiment_id: str
    name: str
    run_id: str
    version: int
    def __init__(self, artifact_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[int] = ..., alias: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class CompareRunsRequest(_message.Message):
    __slots__ = ["experiment_ids", "run_ids"]
    EXPERIMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    experiment_ids: _containers.RepeatedScalarFieldContainer[str]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, experiment_ids: _Optional[_Iterable[str]] = ..., run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareRunsResponse(_message.Message):
    __slots__ = ["metrics", "params", "runs"]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedCompositeFieldContainer[MetricComparison]
    params: _containers.RepeatedCompositeFieldContainer[ParamDiff]
    runs: _containers.RepeatedCompositeFieldContainer[ComparedRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[ComparedRun, _Mapping]]] = ..., params: _Optional[_Iterable[_Union[ParamDiff, _Mapping]]] = ..., metrics: _Optional[_Iterable[_Union[MetricComparison, _Mapping]]] = ...) -> None: ...

class ComparedRun(_message.Message):
    __slots__ = ["experiment_id", "metrics", "name", "params", "run_id", "status"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParamValue, _Mapping]] = ...) -> None: ...
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    metrics: _containers.RepeatedCompositeFieldContainer[MetricSummary]
    name: str
    params: _containers.MessageMap[str, ParamValue]
    run_id: str
    status: RunStatus
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., params: _Optional[_Mapping[str, ParamValue]] = ..., metrics: _Optional[_Iterable[_Union[MetricSummary, _Mapping]]] = ...) -> None: ...

class CreateExperimentRequest(_message.Message):
    __slots__ = ["created_by", "description", "get_if_exists", "metric_goals", "name", "tags"]
    class MetricGoalsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricGoal
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricGoal, str]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    GET_IF_EXISTS_FIELD_NUMBER: _ClassVar[int]
    METRIC_GOALS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    created_by: str
    description: str
    get_if_exists: bool
    metric_goals: _containers.ScalarMap[str, MetricGoal]
    name: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., metric_goals: _Optional[_Mapping[str, MetricGoal]] = ..., get_if_exists: bool = ...) -> None: ...

class DeleteArtifactRequest(_message.Message):
    __slots__ = ["artifact"]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactRef
    def __init__(self, artifact: _Optional[_Union[ArtifactRef, _Mapping]] = ...) -> None: ...

class DeleteArtifactResponse(_message.Message):
    __slots__ = ["blob_removed"]
    BLOB_REMOVED_FIELD_NUMBER: _ClassVar[int]
    blob_removed: bool
    def __init__(self, blob_removed: bool = ...) -> None: ...

class DeleteExperimentRequest(_message.Message):
    __slots__ = ["force", "id"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    force: bool
    id: str
    def __init__(self, id: _Optional[str] = ..., force: bool = ...) -> None: ...

class DeleteExperimentResponse(_message.Message):
    __slots__ = ["deleted_artifacts", "deleted_runs"]
    DELETED_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_RUNS_FIELD_NUMBER: _ClassVar[int]
    deleted_artifacts: int
    deleted_runs: int
    def __init__(self, deleted_runs: _Optional[int] = ..., deleted_artifacts: _Optional[int] = ...) -> None: ...

class DeleteRunRequest(_message.Message):
    __slots__ = ["force", "run_id"]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    force: bool
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., force: bool = ...) -> None: ...

class DeleteRunResponse(_message.Message):
    __slots__ = ["deleted_artifacts", "deleted_runs"]
    DELETED_ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_RUNS_FIELD_NUMBER: _ClassVar[int]
    deleted_artifacts: int
    deleted_runs: int
    def __init__(self, deleted_runs: _Optional[int] = ..., deleted_artifacts: _Optional[int] = ...) -> None: ...

class DownloadArtifactRequest(_message.Message):
    __slots__ = ["artifact", "chunk_size"]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactRef
    chunk_size: int
    def __init__(self, artifact: _Optional[_Union[ArtifactRef, _Mapping]] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class DownloadArtifactResponse(_message.Message):
    __slots__ = ["artifact", "chunk", "file"]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    artifact: Artifact
    chunk: bytes
    file: ArtifactFile
    def __init__(self, artifact: _Optional[_Union[Artifact, _Mapping]] = ..., chunk: _Optional[bytes] = ..., file: _Optional[_Union[ArtifactFile, _Mapping]] = ...) -> None: ...

class EndRunRequest(_message.Message):
    __slots__ = ["error", "run_id", "status"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    error: str
    run_id: str
    status: RunStatus
    def __init__(self, run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., error: _Optional[str] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ["created_at_ms", "created_by", "description", "id", "metric_goals", "name", "run_count", "runs", "runs_next_page_token", "tags", "updated_at_ms"]
    class MetricGoalsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricGoal
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricGoal, str]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_GOALS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    RUNS_NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    created_at_ms: int
    created_by: str
    description: str
    id: str
    metric_goals: _containers.ScalarMap[str, MetricGoal]
    name: str
    run_count: int
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    runs_next_page_token: str
    tags: _containers.ScalarMap[str, str]
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., metric_goals: _Optional[_Mapping[str, MetricGoal]] = ..., run_count: _Optional[int] = ..., runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., runs_next_page_token: _Optional[str] = ...) -> None: ...

class ExperimentRef(_message.Message):
    __slots__ = ["id", "name"]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetExperimentRequest(_message.Message):
    __slots__ = ["experiment", "runs_page_size", "runs_page_token"]
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    RUNS_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    RUNS_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment: ExperimentRef
    runs_page_size: int
    runs_page_token: str
    def __init__(self, experiment: _Optional[_Union[ExperimentRef, _Mapping]] = ..., runs_page_size: _Optional[int] = ..., runs_page_token: _Optional[str] = ...) -> None: ...

class GetMetricHistoryRequest(_message.Message):
    __slots__ = ["keys", "max_points", "max_step", "min_step", "run_id"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    MAX_POINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_STEP_FIELD_NUMBER: _ClassVar[int]
    MIN_STEP_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    max_points: int
    max_step: int
    min_step: int
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., min_step: _Optional[int] = ..., max_step: _Optional[int] = ..., max_points: _Optional[int] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ["run_id"]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class ListArtifactsRequest(_message.Message):
    __slots__ = ["experiment_id", "name", "run_id"]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    name: str
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListArtifactsResponse(_message.Message):
    __slots__ = ["artifacts"]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ["created_after_ms", "created_before_ms", "name_contains", "order_by", "page_size", "page_token", "tags_all", "tags_any", "updated_after_ms", "updated_before_ms"]
    CREATED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TAGS_ALL_FIELD_NUMBER: _ClassVar[int]
    TAGS_ANY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    created_after_ms: int
    created_before_ms: int
    name_contains: str
    order_by: str
    page_size: int
    page_token: str
    tags_all: _containers.RepeatedScalarFieldContainer[str]
    tags_any: _containers.RepeatedScalarFieldContainer[str]
    updated_after_ms: int
    updated_before_ms: int
    def __init__(self, name_contains: _Optional[str] = ..., tags_any: _Optional[_Iterable[str]] = ..., tags_all: _Optional[_Iterable[str]] = ..., created_after_ms: _Optional[int] = ..., created_before_ms: _Optional[int] = ..., updated_after_ms: _Optional[int] = ..., updated_before_ms: _Optional[int] = ..., order_by: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ["experiments", "next_page_token", "total_count"]
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[Experiment]
    next_page_token: str
    total_count: int
    def __init__(self, experiments: _Optional[_Iterable[_Union[Experiment, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ["experiment_ids", "page_size", "page_token", "parent_run_id"]
    EXPERIMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    experiment_ids: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    parent_run_id: str
    def __init__(self, experiment_ids: _Optional[_Iterable[str]] = ..., parent_run_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ["next_page_token", "runs", "total_count"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    total_count: int
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class LogMetricsResponse(_message.Message):
    __slots__ = ["accepted", "duplicate", "sequence"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: bool
    sequence: int
    def __init__(self, accepted: _Optional[int] = ..., sequence: _Optional[int] = ..., duplicate: bool = ...) -> None: ...

class LogParamsRequest(_message.Message):
    __slots__ = ["params", "run_id"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParamValue, _Mapping]] = ...) -> None: ...
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    params: _containers.MessageMap[str, ParamValue]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., params: _Optional[_Mapping[str, ParamValue]] = ...) -> None: ...

class LogParamsResponse(_message.Message):
    __slots__ = ["stored"]
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: int
    def __init__(self, stored: _Optional[int] = ...) -> None: ...

class MetricBatch(_message.Message):
    __slots__ = ["key_index", "keys", "run_id", "sequence", "steps", "timestamps_ms", "values", "writer_id"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_INDEX_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_MS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    WRITER_ID_FIELD_NUMBER: _ClassVar[int]
    key_index: _containers.RepeatedScalarFieldContainer[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    run_id: str
    sequence: int
    steps: _containers.RepeatedScalarFieldContainer[int]
    timestamps_ms: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    writer_id: str
    def __init__(self, run_id: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., key_index: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., steps: _Optional[_Iterable[int]] = ..., timestamps_ms: _Optional[_Iterable[int]] = ..., sequence: _Optional[int] = ..., writer_id: _Optional[str] = ...) -> None: ...

class MetricComparison(_message.Message):
    __slots__ = ["best_run_id", "best_value", "goal", "key", "run_count", "worst_run_id", "worst_value"]
    BEST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BEST_VALUE_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    RUN_COUNT_FIELD_NUMBER: _ClassVar[int]
    WORST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORST_VALUE_FIELD_NUMBER: _ClassVar[int]
    best_run_id: str
    best_value: float
    goal: MetricGoal
    key: str
    run_count: int
    worst_run_id: str
    worst_value: float
    def __init__(self, key: _Optional[str] = ..., goal: _Optional[_Union[MetricGoal, str]] = ..., best_run_id: _Optional[str] = ..., best_value: _Optional[float] = ..., worst_run_id: _Optional[str] = ..., worst_value: _Optional[float] = ..., run_count: _Optional[int] = ...) -> None: ...

class MetricHistoryChunk(_message.Message):
    __slots__ = ["downsampled", "key", "steps", "timestamps_ms", "total_points", "values"]
    DOWNSAMPLED_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_POINTS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    downsampled: bool
    key: str
    steps: _containers.RepeatedScalarFieldContainer[int]
    timestamps_ms: _containers.RepeatedScalarFieldContainer[int]
    total_points: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, key: _Optional[str] = ..., steps: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., timestamps_ms: _Optional[_Iterable[int]] = ..., total_points: _Optional[int] = ..., downsampled: bool = ...) -> None: ...

class MetricPoints(_message.Message):
    __slots__ = ["key_index", "keys", "steps", "timestamps_ms", "values"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_INDEX_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_MS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key_index: _containers.RepeatedScalarFieldContainer[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    steps: _containers.RepeatedScalarFieldContainer[int]
    timestamps_ms: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., key_index: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., steps: _Optional[_Iterable[int]] = ..., timestamps_ms: _Optional[_Iterable[int]] = ...) -> None: ...

class MetricSummary(_message.Message):
    __slots__ = ["count", "first_step", "key", "last_step", "last_timestamp_ms", "last_value", "max", "mean", "min"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_STEP_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    LAST_TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    count: int
    first_step: int
    key: str
    last_step: int
    last_timestamp_ms: int
    last_value: float
    max: float
    mean: float
    min: float
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ..., last_value: _Optional[float] = ..., last_step: _Optional[int] = ..., last_timestamp_ms: _Optional[int] = ..., first_step: _Optional[int] = ...) -> None: ...

class ParamDiff(_message.Message):
    __slots__ = ["differs", "key", "values"]
    DIFFERS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    differs: bool
    key: str
    values: _containers.RepeatedCompositeFieldContainer[ParamValue]
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ParamValue, _Mapping]]] = ..., differs: bool = ...) -> None: ...

class ParamValue(_message.Message):
    __slots__ = ["bool_value", "double_value", "int_value", "string_value"]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    bool_value: bool
    double_value: float
    int_value: int
    string_value: str
    def __init__(self, string_value: _Optional[str] = ..., int_value: _Optional[int] = ..., double_value: _Optional[float] = ..., bool_value: bool = ...) -> None: ...

class ResumeRunRequest(_message.Message):
    __slots__ = ["run_id"]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ["artifacts", "child_count", "completed_at_ms", "created_by", "duration_ms", "error", "experiment_id", "id", "last_contact_ms", "metrics", "name", "note", "params", "parent_run_id", "started_at_ms", "status", "tags"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParamValue, _Mapping]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    CHILD_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_MS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[Artifact]
    child_count: int
    completed_at_ms: int
    created_by: str
    duration_ms: int
    error: str
    experiment_id: str
    id: str
    last_contact_ms: int
    metrics: _containers.RepeatedCompositeFieldContainer[MetricSummary]
    name: str
    note: str
    params: _containers.MessageMap[str, ParamValue]
    parent_run_id: str
    started_at_ms: int
    status: RunStatus
    tags: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., name: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., parent_run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., error: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., completed_at_ms: _Optional[int] = ..., duration_ms: _Optional[int] = ..., params: _Optional[_Mapping[str, ParamValue]] = ..., metrics: _Optional[_Iterable[_Union[MetricSummary, _Mapping]]] = ..., artifacts: _Optional[_Iterable[_Union[Artifact, _Mapping]]] = ..., child_count: _Optional[int] = ..., last_contact_ms: _Optional[int] = ..., note: _Optional[str] = ..., created_by: _Optional[str] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ["params", "points", "snapshot", "status"]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    params: LogParamsRequest
    points: MetricPoints
    snapshot: Run
    status: Run
    def __init__(self, snapshot: _Optional[_Union[Run, _Mapping]] = ..., points: _Optional[_Union[MetricPoints, _Mapping]] = ..., status: _Optional[_Union[Run, _Mapping]] = ..., params: _Optional[_Union[LogParamsRequest, _Mapping]] = ...) -> None: ...

class RunWrite(_message.Message):
    __slots__ = ["end_run", "metrics", "params", "resume_run", "start_run", "tags"]
    END_RUN_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RESUME_RUN_FIELD_NUMBER: _ClassVar[int]
    START_RUN_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    end_run: EndRunRequest
    metrics: MetricBatch
    params: LogParamsRequest
    resume_run: ResumeRunRequest
    start_run: StartRunRequest
    tags: SetRunTagsRequest
    def __init__(self, start_run: _Optional[_Union[StartRunRequest, _Mapping]] = ..., metrics: _Optional[_Union[MetricBatch, _Mapping]] = ..., params: _Optional[_Union[LogParamsRequest, _Mapping]] = ..., tags: _Optional[_Union[SetRunTagsRequest, _Mapping]] = ..., end_run: _Optional[_Union[EndRunRequest, _Mapping]] = ..., resume_run: _Optional[_Union[ResumeRunRequest, _Mapping]] = ...) -> None: ...

class RunWriteResult(_message.Message):
    __slots__ = ["metrics", "params", "run"]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    metrics: LogMetricsResponse
    params: LogParamsResponse
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ..., metrics: _Optional[_Union[LogMetricsResponse, _Mapping]] = ..., params: _Optional[_Union[LogParamsResponse, _Mapping]] = ...) -> None: ...

class SearchRunsRequest(_message.Message):
    __slots__ = ["experiment_ids", "filter", "order_by", "page_size", "page_token"]
    EXPERIMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_ids: _containers.RepeatedScalarFieldContainer[str]
    filter: str
    order_by: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, experiment_ids: _Optional[_Iterable[str]] = ..., filter: _Optional[str] = ..., order_by: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SetArtifactAliasRequest(_message.Message):
    __slots__ = ["alias", "artifact"]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    alias: str
    artifact: ArtifactRef
    def __init__(self, artifact: _Optional[_Union[ArtifactRef, _Mapping]] = ..., alias: _Optional[str] = ...) -> None: ...

class SetRunNoteRequest(_message.Message):
    __slots__ = ["note", "run_id"]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    note: str
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class SetRunTagsRequest(_message.Message):
    __slots__ = ["remove_keys", "run_id", "tags"]
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REMOVE_KEYS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    remove_keys: _containers.RepeatedScalarFieldContainer[str]
    run_id: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, run_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., remove_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ["create_experiment", "experiment", "name", "params", "parent_run_id", "run_id", "tags"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ParamValue, _Mapping]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    create_experiment: bool
    experiment: ExperimentRef
    name: str
    params: _containers.MessageMap[str, ParamValue]
    parent_run_id: str
    run_id: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, experiment: _Optional[_Union[ExperimentRef, _Mapping]] = ..., create_experiment: bool = ..., name: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., parent_run_id: _Optional[str] = ..., params: _Optional[_Mapping[str, ParamValue]] = ..., run_id: _Optional[str] = ...) -> None: ...

class UpdateExperimentRequest(_message.Message):
    __slots__ = ["description", "id", "metric_goals", "name", "remove_tags", "replace_tags", "tags"]
    class MetricGoalsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MetricGoal
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MetricGoal, str]] = ...) -> None: ...
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_GOALS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REMOVE_TAGS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_TAGS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    description: str
    id: str
    metric_goals: _containers.ScalarMap[str, MetricGoal]
    name: str
    remove_tags: _containers.RepeatedScalarFieldContainer[str]
    replace_tags: bool
    tags: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., replace_tags: bool = ..., tags: _Optional[_Mapping[str, str]] = ..., metric_goals: _Optional[_Mapping[str, MetricGoal]] = ..., remove_tags: _Optional[_Iterable[str]] = ...) -> None: ...

class UploadArtifactRequest(_message.Message):
    __slots__ = ["chunk", "file", "header"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    file: ArtifactFile
    header: ArtifactHeader
    def __init__(self, header: _Optional[_Union[ArtifactHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ..., file: _Optional[_Union[ArtifactFile, _Mapping]] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ["include_history", "run_id"]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    include_history: bool
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., include_history: bool = ...) -> None: ...

class MetricGoal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ArtifactType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
