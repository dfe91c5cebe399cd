from tally.v1 import tracking_pb2 as _tracking_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_COMPLETED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_PENDING: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_UNSPECIFIED: JobStatus
OBJECTIVE_DIRECTION_MAXIMIZE: ObjectiveDirection
OBJECTIVE_DIRECTION_MINIMIZE: ObjectiveDirection
OBJECTIVE_DIRECTION_UNSPECIFIED: ObjectiveDirection
PROVIDER_KIND_COMMAND: ProviderKind
PROVIDER_KIND_OLLAMA: ProviderKind
PROVIDER_KIND_OPENAI: ProviderKind
PROVIDER_KIND_UNSPECIFIED: ProviderKind
SAMPLING_RANDOM: Sampling
SAMPLING_STRATIFIED: Sampling
SAMPLING_UNSPECIFIED: Sampling
SWEEP_METHOD_BAYESIAN: SweepMethod
SWEEP_METHOD_GRID: SweepMethod
SWEEP_METHOD_RANDOM: SweepMethod
SWEEP_METHOD_UNSPECIFIED: SweepMethod
TRIAL_STATUS_COMPLETED: TrialStatus
TRIAL_STATUS_FAILED: TrialStatus
TRIAL_STATUS_KILLED: TrialStatus
TRIAL_STATUS_PRUNED: TrialStatus
TRIAL_STATUS_RUNNING: TrialStatus
TRIAL_STATUS_UNSPECIFIED: TrialStatus

class AlternativeLabel(_message.Message):
    __slots__ = ["confidence", "id", "name"]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    confidence: float
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class CalibrationBin(_message.Message):
    __slots__ = ["accuracy", "count", "lower", "mean_confidence", "upper"]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    MEAN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    count: int
    lower: float
    mean_confidence: float
    upper: float
    def __init__(self, lower: _Optional[float] = ..., upper: _Optional[float] = ..., count: _Optional[int] = ..., mean_confidence: _Optional[float] = ..., accuracy: _Optional[float] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ["job_id"]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ClassificationEvalConfig(_message.Message):
    __slots__ = ["concurrency", "dataset", "dataset_id", "experiment", "labels", "models", "prompt_template", "provider", "request_timeout_ms", "retries", "sample_size", "sampling", "seed", "time_limit_ms"]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    DATASET_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    concurrency: int
    dataset: str
    dataset_id: str
    experiment: str
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    models: _containers.RepeatedScalarFieldContainer[str]
    prompt_template: str
    provider: str
    request_timeout_ms: int
    retries: int
    sample_size: int
    sampling: Sampling
    seed: int
    time_limit_ms: int
    def __init__(self, dataset: _Optional[str] = ..., provider: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ..., prompt_template: _Optional[str] = ..., sample_size: _Optional[int] = ..., sampling: _Optional[_Union[Sampling, str]] = ..., seed: _Optional[int] = ..., concurrency: _Optional[int] = ..., request_timeout_ms: _Optional[int] = ..., retries: _Optional[int] = ..., experiment: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., dataset_id: _Optional[str] = ..., time_limit_ms: _Optional[int] = ...) -> None: ...

class ConfusionRow(_message.Message):
    __slots__ = ["predicted"]
    class PredictedEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    predicted: _containers.ScalarMap[str, int]
    def __init__(self, predicted: _Optional[_Mapping[str, int]] = ...) -> None: ...

class CreateDatasetRequest(_message.Message):
    __slots__ = ["artifact", "description", "items", "labels", "name"]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    artifact: _tracking_pb2.ArtifactRef
    description: str
    items: _containers.RepeatedCompositeFieldContainer[DatasetItem]
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    name: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[DatasetItem, _Mapping]]] = ..., artifact: _Optional[_Union[_tracking_pb2.ArtifactRef, _Mapping]] = ...) -> None: ...

class CreateJobRequest(_message.Message):
    __slots__ = ["classification", "cross_validation", "sweep"]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    CROSS_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    classification: ClassificationEvalConfig
    cross_validation: CrossValidationConfig
    sweep: SweepConfig
    def __init__(self, classification: _Optional[_Union[ClassificationEvalConfig, _Mapping]] = ..., sweep: _Optional[_Union[SweepConfig, _Mapping]] = ..., cross_validation: _Optional[_Union[CrossValidationConfig, _Mapping]] = ...) -> None: ...

class CreateProviderRequest(_message.Message):
    __slots__ = ["api_key", "base_url", "command", "inactive", "kind", "name"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INACTIVE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    base_url: str
    command: _containers.RepeatedScalarFieldContainer[str]
    inactive: bool
    kind: ProviderKind
    name: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ProviderKind, str]] = ..., base_url: _Optional[str] = ..., api_key: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., inactive: bool = ...) -> None: ...

class CrossValidateRequest(_message.Message):
    __slots__ = ["fit_times", "score_times", "scores"]
    FIT_TIMES_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORE_TIMES_FIELD_NUMBER: _ClassVar[int]
    fit_times: _containers.RepeatedScalarFieldContainer[float]
    score_times: _containers.RepeatedScalarFieldContainer[float]
    scores: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, scores: _Optional[_Iterable[float]] = ..., fit_times: _Optional[_Iterable[float]] = ..., score_times: _Optional[_Iterable[float]] = ...) -> None: ...

class CrossValidationConfig(_message.Message):
    __slots__ = ["experiment", "folds", "heartbeat_timeout_ms", "max_parallel", "maximize", "metrics", "name", "params", "retries", "sweep_id", "trial_id"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _tracking_pb2.ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_tracking_pb2.ParamValue, _Mapping]] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAXIMIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    folds: int
    heartbeat_timeout_ms: int
    max_parallel: int
    maximize: bool
    metrics: _containers.RepeatedScalarFieldContainer[str]
    name: str
    params: _containers.MessageMap[str, _tracking_pb2.ParamValue]
    retries: int
    sweep_id: str
    trial_id: str
    def __init__(self, folds: _Optional[int] = ..., metrics: _Optional[_Iterable[str]] = ..., maximize: bool = ..., max_parallel: _Optional[int] = ..., params: _Optional[_Mapping[str, _tracking_pb2.ParamValue]] = ..., experiment: _Optional[str] = ..., heartbeat_timeout_ms: _Optional[int] = ..., retries: _Optional[int] = ..., sweep_id: _Optional[str] = ..., trial_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CrossValidationResult(_message.Message):
    __slots__ = ["ci95_lower", "ci95_upper", "ci99_lower", "ci99_upper", "fit_time_mean", "has_interval", "max", "mean", "median", "min", "n", "score_time_mean", "scores", "std"]
    CI95_LOWER_FIELD_NUMBER: _ClassVar[int]
    CI95_UPPER_FIELD_NUMBER: _ClassVar[int]
    CI99_LOWER_FIELD_NUMBER: _ClassVar[int]
    CI99_UPPER_FIELD_NUMBER: _ClassVar[int]
    FIT_TIME_MEAN_FIELD_NUMBER: _ClassVar[int]
    HAS_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    SCORE_TIME_MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    ci95_lower: float
    ci95_upper: float
    ci99_lower: float
    ci99_upper: float
    fit_time_mean: float
    has_interval: bool
    max: float
    mean: float
    median: float
    min: float
    n: int
    score_time_mean: float
    scores: _containers.RepeatedScalarFieldContainer[float]
    std: float
    def __init__(self, n: _Optional[int] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., median: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., ci95_lower: _Optional[float] = ..., ci95_upper: _Optional[float] = ..., ci99_lower: _Optional[float] = ..., ci99_upper: _Optional[float] = ..., has_interval: bool = ..., fit_time_mean: _Optional[float] = ..., score_time_mean: _Optional[float] = ..., scores: _Optional[_Iterable[float]] = ...) -> None: ...

class CrossValidationResults(_message.Message):
    __slots__ = ["duration_ms", "folds", "mean_fit_time", "mean_score_time", "metrics", "parent_run_id"]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIT_TIME_FIELD_NUMBER: _ClassVar[int]
    MEAN_SCORE_TIME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    duration_ms: int
    folds: _containers.RepeatedCompositeFieldContainer[Trial]
    mean_fit_time: float
    mean_score_time: float
    metrics: _containers.RepeatedCompositeFieldContainer[MetricFolds]
    parent_run_id: str
    def __init__(self, metrics: _Optional[_Iterable[_Union[MetricFolds, _Mapping]]] = ..., mean_fit_time: _Optional[float] = ..., mean_score_time: _Optional[float] = ..., duration_ms: _Optional[int] = ..., parent_run_id: _Optional[str] = ..., folds: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class Dataset(_message.Message):
    __slots__ = ["created_at_ms", "description", "id", "item_count", "label_counts", "labels", "name", "updated_at_ms"]
    class LabelCountsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNTS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    created_at_ms: int
    description: str
    id: str
    item_count: int
    label_counts: _containers.ScalarMap[str, int]
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    name: str
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., item_count: _Optional[int] = ..., label_counts: _Optional[_Mapping[str, int]] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class DatasetItem(_message.Message):
    __slots__ = ["id", "label", "text"]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    label: str
    text: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ["dataset"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    def __init__(self, dataset: _Optional[str] = ...) -> None: ...

class DeleteDatasetResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ["job_id"]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DeleteProviderRequest(_message.Message):
    __slots__ = ["provider"]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    provider: str
    def __init__(self, provider: _Optional[str] = ...) -> None: ...

class DeleteProviderResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class FoldScores(_message.Message):
    __slots__ = ["fit_time", "score_time", "test", "train"]
    class TestEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class TrainEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    FIT_TIME_FIELD_NUMBER: _ClassVar[int]
    SCORE_TIME_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    fit_time: float
    score_time: float
    test: _containers.ScalarMap[str, float]
    train: _containers.ScalarMap[str, float]
    def __init__(self, test: _Optional[_Mapping[str, float]] = ..., train: _Optional[_Mapping[str, float]] = ..., fit_time: _Optional[float] = ..., score_time: _Optional[float] = ...) -> None: ...

class GetDatasetRequest(_message.Message):
    __slots__ = ["dataset"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    def __init__(self, dataset: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ["job_id"]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ["trial_id"]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class IntermediateValue(_message.Message):
    __slots__ = ["step", "value"]
    STEP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    step: int
    value: float
    def __init__(self, step: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...

class ItemResult(_message.Message):
    __slots__ = ["actual", "actual_name", "alternative_labels", "alternatives", "confidence", "error", "excerpt", "item_id", "latency_ms", "model", "predicted", "predicted_name", "reasoning"]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_NAME_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVE_LABELS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXCERPT_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_NAME_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    actual: str
    actual_name: str
    alternative_labels: _containers.RepeatedCompositeFieldContainer[AlternativeLabel]
    alternatives: _containers.RepeatedScalarFieldContainer[str]
    confidence: float
    error: str
    excerpt: str
    item_id: str
    latency_ms: float
    model: str
    predicted: str
    predicted_name: str
    reasoning: str
    def __init__(self, model: _Optional[str] = ..., item_id: _Optional[str] = ..., excerpt: _Optional[str] = ..., actual: _Optional[str] = ..., predicted: _Optional[str] = ..., confidence: _Optional[float] = ..., latency_ms: _Optional[float] = ..., reasoning: _Optional[str] = ..., alternatives: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ..., actual_name: _Optional[str] = ..., predicted_name: _Optional[str] = ..., alternative_labels: _Optional[_Iterable[_Union[AlternativeLabel, _Mapping]]] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ["classification", "completed_at_ms", "created_at_ms", "cross_validation", "error", "experiment_id", "id", "kind", "progress_current", "progress_total", "results", "started_at_ms", "status", "sweep", "updated_at_ms"]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CROSS_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_CURRENT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    classification: ClassificationEvalConfig
    completed_at_ms: int
    created_at_ms: int
    cross_validation: CrossValidationConfig
    error: str
    experiment_id: str
    id: str
    kind: str
    progress_current: int
    progress_total: int
    results: JobResults
    started_at_ms: int
    status: JobStatus
    sweep: SweepConfig
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., created_at_ms: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., completed_at_ms: _Optional[int] = ..., error: _Optional[str] = ..., classification: _Optional[_Union[ClassificationEvalConfig, _Mapping]] = ..., sweep: _Optional[_Union[SweepConfig, _Mapping]] = ..., cross_validation: _Optional[_Union[CrossValidationConfig, _Mapping]] = ..., progress_current: _Optional[int] = ..., progress_total: _Optional[int] = ..., results: _Optional[_Union[JobResults, _Mapping]] = ..., experiment_id: _Optional[str] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class JobCancelled(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class JobCompleted(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: JobResults
    def __init__(self, results: _Optional[_Union[JobResults, _Mapping]] = ...) -> None: ...

class JobEvent(_message.Message):
    __slots__ = ["cancelled", "completed", "failed", "item_result", "job_id", "job_kind", "progress", "seq", "snapshot", "started", "time_ms", "trial_finished", "trial_started"]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ITEM_RESULT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_KIND_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FINISHED_FIELD_NUMBER: _ClassVar[int]
    TRIAL_STARTED_FIELD_NUMBER: _ClassVar[int]
    cancelled: JobCancelled
    completed: JobCompleted
    failed: JobFailed
    item_result: ItemResult
    job_id: str
    job_kind: str
    progress: JobProgress
    seq: int
    snapshot: Job
    started: JobStarted
    time_ms: int
    trial_finished: TrialEvent
    trial_started: TrialEvent
    def __init__(self, seq: _Optional[int] = ..., job_id: _Optional[str] = ..., job_kind: _Optional[str] = ..., time_ms: _Optional[int] = ..., snapshot: _Optional[_Union[Job, _Mapping]] = ..., started: _Optional[_Union[JobStarted, _Mapping]] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., item_result: _Optional[_Union[ItemResult, _Mapping]] = ..., completed: _Optional[_Union[JobCompleted, _Mapping]] = ..., failed: _Optional[_Union[JobFailed, _Mapping]] = ..., cancelled: _Optional[_Union[JobCancelled, _Mapping]] = ..., trial_started: _Optional[_Union[TrialEvent, _Mapping]] = ..., trial_finished: _Optional[_Union[TrialEvent, _Mapping]] = ...) -> None: ...

class JobFailed(_message.Message):
    __slots__ = ["error"]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: str
    def __init__(self, error: _Optional[str] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ["current", "eta_seconds", "items_per_second", "model", "percentage", "total"]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    current: int
    eta_seconds: float
    items_per_second: float
    model: str
    percentage: float
    total: int
    def __init__(self, current: _Optional[int] = ..., total: _Optional[int] = ..., percentage: _Optional[float] = ..., items_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., model: _Optional[str] = ...) -> None: ...

class JobResults(_message.Message):
    __slots__ = ["cross_validation", "models", "sweep"]
    CROSS_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    cross_validation: CrossValidationResults
    models: _containers.RepeatedCompositeFieldContainer[ModelEvaluation]
    sweep: SweepResults
    def __init__(self, models: _Optional[_Iterable[_Union[ModelEvaluation, _Mapping]]] = ..., sweep: _Optional[_Union[SweepResults, _Mapping]] = ..., cross_validation: _Optional[_Union[CrossValidationResults, _Mapping]] = ...) -> None: ...

class JobStarted(_message.Message):
    __slots__ = ["total"]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    total: int
    def __init__(self, total: _Optional[int] = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ["description", "id", "name"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    description: str
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class LabelScores(_message.Message):
    __slots__ = ["f1", "precision", "recall", "support"]
    F1_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    f1: float
    precision: float
    recall: float
    support: int
    def __init__(self, precision: _Optional[float] = ..., recall: _Optional[float] = ..., f1: _Optional[float] = ..., support: _Optional[int] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ["datasets", "next_page_token", "total_count"]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    datasets: _containers.RepeatedCompositeFieldContainer[Dataset]
    next_page_token: str
    total_count: int
    def __init__(self, datasets: _Optional[_Iterable[_Union[Dataset, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class ListJobItemsRequest(_message.Message):
    __slots__ = ["errors_only", "job_id", "model", "page_size", "page_token"]
    ERRORS_ONLY_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    errors_only: bool
    job_id: str
    model: str
    page_size: int
    page_token: str
    def __init__(self, job_id: _Optional[str] = ..., model: _Optional[str] = ..., errors_only: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobItemsResponse(_message.Message):
    __slots__ = ["items", "next_page_token", "total_count"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ItemResult]
    next_page_token: str
    total_count: int
    def __init__(self, items: _Optional[_Iterable[_Union[ItemResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ["kind", "page_size", "page_token", "statuses"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[JobStatus]
    def __init__(self, statuses: _Optional[_Iterable[_Union[JobStatus, str]]] = ..., kind: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ["jobs", "next_page_token", "total_count"]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    total_count: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_count: _Optional[int] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ["providers"]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[Provider]
    def __init__(self, providers: _Optional[_Iterable[_Union[Provider, _Mapping]]] = ...) -> None: ...

class MetricFolds(_message.Message):
    __slots__ = ["metric", "test", "test_summary", "train", "train_summary"]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TEST_FIELD_NUMBER: _ClassVar[int]
    TEST_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TRAIN_FIELD_NUMBER: _ClassVar[int]
    TRAIN_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    metric: str
    test: _containers.RepeatedScalarFieldContainer[float]
    test_summary: CrossValidationResult
    train: _containers.RepeatedScalarFieldContainer[float]
    train_summary: CrossValidationResult
    def __init__(self, metric: _Optional[str] = ..., test: _Optional[_Iterable[float]] = ..., train: _Optional[_Iterable[float]] = ..., test_summary: _Optional[_Union[CrossValidationResult, _Mapping]] = ..., train_summary: _Optional[_Union[CrossValidationResult, _Mapping]] = ...) -> None: ...

class ModelEvaluation(_message.Message):
    __slots__ = ["accuracy", "average_confidence", "average_latency_ms", "confusion", "errors", "evaluated", "expected_calibration_error", "macro_f1", "model", "p50_latency_ms", "p95_latency_ms", "per_label", "reliability", "run_id", "total", "weighted_f1"]
    class ConfusionEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ConfusionRow
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ConfusionRow, _Mapping]] = ...) -> None: ...
    class PerLabelEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: LabelScores
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[LabelScores, _Mapping]] = ...) -> None: ...
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CONFUSION_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_CALIBRATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    MACRO_F1_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    PER_LABEL_FIELD_NUMBER: _ClassVar[int]
    RELIABILITY_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_F1_FIELD_NUMBER: _ClassVar[int]
    accuracy: float
    average_confidence: float
    average_latency_ms: float
    confusion: _containers.MessageMap[str, ConfusionRow]
    errors: int
    evaluated: int
    expected_calibration_error: float
    macro_f1: float
    model: str
    p50_latency_ms: float
    p95_latency_ms: float
    per_label: _containers.MessageMap[str, LabelScores]
    reliability: _containers.RepeatedCompositeFieldContainer[CalibrationBin]
    run_id: str
    total: int
    weighted_f1: float
    def __init__(self, model: _Optional[str] = ..., run_id: _Optional[str] = ..., total: _Optional[int] = ..., evaluated: _Optional[int] = ..., errors: _Optional[int] = ..., accuracy: _Optional[float] = ..., average_confidence: _Optional[float] = ..., average_latency_ms: _Optional[float] = ..., p50_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., confusion: _Optional[_Mapping[str, ConfusionRow]] = ..., per_label: _Optional[_Mapping[str, LabelScores]] = ..., macro_f1: _Optional[float] = ..., weighted_f1: _Optional[float] = ..., expected_calibration_error: _Optional[float] = ..., reliability: _Optional[_Iterable[_Union[CalibrationBin, _Mapping]]] = ...) -> None: ...

class NextTrialRequest(_message.Message):
    __slots__ = ["job_id", "worker"]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    worker: str
    def __init__(self, job_id: _Optional[str] = ..., worker: _Optional[str] = ...) -> None: ...

class NextTrialResponse(_message.Message):
    __slots__ = ["finished", "trial", "wait"]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    finished: bool
    trial: Trial
    wait: bool
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ..., finished: bool = ..., wait: bool = ...) -> None: ...

class Provider(_message.Message):
    __slots__ = ["base_url", "command", "created_at_ms", "has_api_key", "id", "is_active", "kind", "name", "updated_at_ms"]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    HAS_API_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    base_url: str
    command: _containers.RepeatedScalarFieldContainer[str]
    created_at_ms: int
    has_api_key: bool
    id: str
    is_active: bool
    kind: ProviderKind
    name: str
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[ProviderKind, str]] = ..., base_url: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., is_active: bool = ..., has_api_key: bool = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class PrunerConfig(_message.Message):
    __slots__ = ["enabled", "min_trials", "warmup_steps"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    MIN_TRIALS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_STEPS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    min_trials: int
    warmup_steps: int
    def __init__(self, enabled: bool = ..., min_trials: _Optional[int] = ..., warmup_steps: _Optional[int] = ...) -> None: ...

class ReportTrialRequest(_message.Message):
    __slots__ = ["failure", "final", "fold", "folds", "intermediate", "killed", "score", "trial_id"]
    class Folds(_message.Message):
        __slots__ = ["fit_times", "score_times", "scores"]
        FIT_TIMES_FIELD_NUMBER: _ClassVar[int]
        SCORES_FIELD_NUMBER: _ClassVar[int]
        SCORE_TIMES_FIELD_NUMBER: _ClassVar[int]
        fit_times: _containers.RepeatedScalarFieldContainer[float]
        score_times: _containers.RepeatedScalarFieldContainer[float]
        scores: _containers.RepeatedScalarFieldContainer[float]
        def __init__(self, scores: _Optional[_Iterable[float]] = ..., fit_times: _Optional[_Iterable[float]] = ..., score_times: _Optional[_Iterable[float]] = ...) -> None: ...
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    FOLD_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    failure: str
    final: bool
    fold: FoldScores
    folds: ReportTrialRequest.Folds
    intermediate: _containers.RepeatedCompositeFieldContainer[IntermediateValue]
    killed: str
    score: float
    trial_id: str
    def __init__(self, trial_id: _Optional[str] = ..., score: _Optional[float] = ..., folds: _Optional[_Union[ReportTrialRequest.Folds, _Mapping]] = ..., failure: _Optional[str] = ..., killed: _Optional[str] = ..., fold: _Optional[_Union[FoldScores, _Mapping]] = ..., intermediate: _Optional[_Iterable[_Union[IntermediateValue, _Mapping]]] = ..., final: bool = ...) -> None: ...

class ReportTrialResponse(_message.Message):
    __slots__ = ["prune", "trial"]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    prune: bool
    trial: Trial
    def __init__(self, prune: bool = ..., trial: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class SweepConfig(_message.Message):
    __slots__ = ["experiment", "fixed", "heartbeat_timeout_ms", "max_parallel", "max_trials", "method", "objective", "params", "preset", "pruner", "retries", "retry_backoff_ms", "seed", "startup_trials", "time_limit_ms", "total_combinations"]
    class FixedEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _tracking_pb2.ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_tracking_pb2.ParamValue, _Mapping]] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARALLEL_FIELD_NUMBER: _ClassVar[int]
    MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    PRUNER_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_BACKOFF_MS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STARTUP_TRIALS_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COMBINATIONS_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    fixed: _containers.MessageMap[str, _tracking_pb2.ParamValue]
    heartbeat_timeout_ms: int
    max_parallel: int
    max_trials: int
    method: SweepMethod
    objective: SweepObjective
    params: _containers.RepeatedCompositeFieldContainer[SweepParam]
    preset: str
    pruner: PrunerConfig
    retries: int
    retry_backoff_ms: int
    seed: int
    startup_trials: int
    time_limit_ms: int
    total_combinations: int
    def __init__(self, params: _Optional[_Iterable[_Union[SweepParam, _Mapping]]] = ..., fixed: _Optional[_Mapping[str, _tracking_pb2.ParamValue]] = ..., method: _Optional[_Union[SweepMethod, str]] = ..., objective: _Optional[_Union[SweepObjective, _Mapping]] = ..., max_trials: _Optional[int] = ..., max_parallel: _Optional[int] = ..., time_limit_ms: _Optional[int] = ..., seed: _Optional[int] = ..., startup_trials: _Optional[int] = ..., pruner: _Optional[_Union[PrunerConfig, _Mapping]] = ..., heartbeat_timeout_ms: _Optional[int] = ..., experiment: _Optional[str] = ..., total_combinations: _Optional[int] = ..., retries: _Optional[int] = ..., retry_backoff_ms: _Optional[int] = ..., preset: _Optional[str] = ...) -> None: ...

class SweepObjective(_message.Message):
    __slots__ = ["direction", "metric"]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    direction: ObjectiveDirection
    metric: str
    def __init__(self, metric: _Optional[str] = ..., direction: _Optional[_Union[ObjectiveDirection, str]] = ...) -> None: ...

class SweepParam(_message.Message):
    __slots__ = ["categorical", "float_range", "int_range", "name"]
    class Categorical(_message.Message):
        __slots__ = ["values"]
        VALUES_FIELD_NUMBER: _ClassVar[int]
        values: _containers.RepeatedCompositeFieldContainer[_tracking_pb2.ParamValue]
        def __init__(self, values: _Optional[_Iterable[_Union[_tracking_pb2.ParamValue, _Mapping]]] = ...) -> None: ...
    class FloatRange(_message.Message):
        __slots__ = ["high", "log", "low", "step"]
        HIGH_FIELD_NUMBER: _ClassVar[int]
        LOG_FIELD_NUMBER: _ClassVar[int]
        LOW_FIELD_NUMBER: _ClassVar[int]
        STEP_FIELD_NUMBER: _ClassVar[int]
        high: float
        log: bool
        low: float
        step: float
        def __init__(self, low: _Optional[float] = ..., high: _Optional[float] = ..., step: _Optional[float] = ..., log: bool = ...) -> None: ...
    class IntRange(_message.Message):
        __slots__ = ["high", "log", "low", "step"]
        HIGH_FIELD_NUMBER: _ClassVar[int]
        LOG_FIELD_NUMBER: _ClassVar[int]
        LOW_FIELD_NUMBER: _ClassVar[int]
        STEP_FIELD_NUMBER: _ClassVar[int]
        high: int
        log: bool
        low: int
        step: int
        def __init__(self, low: _Optional[int] = ..., high: _Optional[int] = ..., step: _Optional[int] = ..., log: bool = ...) -> None: ...
    CATEGORICAL_FIELD_NUMBER: _ClassVar[int]
    FLOAT_RANGE_FIELD_NUMBER: _ClassVar[int]
    INT_RANGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    categorical: SweepParam.Categorical
    float_range: SweepParam.FloatRange
    int_range: SweepParam.IntRange
    name: str
    def __init__(self, name: _Optional[str] = ..., categorical: _Optional[_Union[SweepParam.Categorical, _Mapping]] = ..., int_range: _Optional[_Union[SweepParam.IntRange, _Mapping]] = ..., float_range: _Optional[_Union[SweepParam.FloatRange, _Mapping]] = ...) -> None: ...

class SweepResults(_message.Message):
    __slots__ = ["best_ci95_lower", "best_ci95_upper", "best_ci99_lower", "best_ci99_upper", "best_params", "best_score", "best_trial_id", "completed", "failed", "killed", "method_used", "pruned", "retried", "total", "trials", "tuning_time_ms"]
    class BestParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _tracking_pb2.ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_tracking_pb2.ParamValue, _Mapping]] = ...) -> None: ...
    BEST_CI95_LOWER_FIELD_NUMBER: _ClassVar[int]
    BEST_CI95_UPPER_FIELD_NUMBER: _ClassVar[int]
    BEST_CI99_LOWER_FIELD_NUMBER: _ClassVar[int]
    BEST_CI99_UPPER_FIELD_NUMBER: _ClassVar[int]
    BEST_PARAMS_FIELD_NUMBER: _ClassVar[int]
    BEST_SCORE_FIELD_NUMBER: _ClassVar[int]
    BEST_TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    KILLED_FIELD_NUMBER: _ClassVar[int]
    METHOD_USED_FIELD_NUMBER: _ClassVar[int]
    PRUNED_FIELD_NUMBER: _ClassVar[int]
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    TUNING_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    best_ci95_lower: float
    best_ci95_upper: float
    best_ci99_lower: float
    best_ci99_upper: float
    best_params: _containers.MessageMap[str, _tracking_pb2.ParamValue]
    best_score: float
    best_trial_id: str
    completed: int
    failed: int
    killed: int
    method_used: str
    pruned: int
    retried: int
    total: int
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    tuning_time_ms: int
    def __init__(self, best_trial_id: _Optional[str] = ..., best_params: _Optional[_Mapping[str, _tracking_pb2.ParamValue]] = ..., best_score: _Optional[float] = ..., best_ci95_lower: _Optional[float] = ..., best_ci95_upper: _Optional[float] = ..., best_ci99_lower: _Optional[float] = ..., best_ci99_upper: _Optional[float] = ..., total: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., pruned: _Optional[int] = ..., tuning_time_ms: _Optional[int] = ..., trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ..., killed: _Optional[int] = ..., method_used: _Optional[str] = ..., retried: _Optional[int] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ["attempt", "error", "finished_at_ms", "fold_scores", "folds", "id", "intermediate", "method_used", "note", "number", "params", "retry_of", "run_id", "score", "started_at_ms", "status", "worker"]
    class ParamsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _tracking_pb2.ParamValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_tracking_pb2.ParamValue, _Mapping]] = ...) -> None: ...
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    FOLD_SCORES_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_FIELD_NUMBER: _ClassVar[int]
    METHOD_USED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    RETRY_OF_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    error: str
    finished_at_ms: int
    fold_scores: FoldScores
    folds: CrossValidationResult
    id: str
    intermediate: _containers.RepeatedCompositeFieldContainer[IntermediateValue]
    method_used: str
    note: str
    number: int
    params: _containers.MessageMap[str, _tracking_pb2.ParamValue]
    retry_of: str
    run_id: str
    score: float
    started_at_ms: int
    status: TrialStatus
    worker: str
    def __init__(self, id: _Optional[str] = ..., number: _Optional[int] = ..., params: _Optional[_Mapping[str, _tracking_pb2.ParamValue]] = ..., run_id: _Optional[str] = ..., status: _Optional[_Union[TrialStatus, str]] = ..., method_used: _Optional[str] = ..., score: _Optional[float] = ..., folds: _Optional[_Union[CrossValidationResult, _Mapping]] = ..., started_at_ms: _Optional[int] = ..., finished_at_ms: _Optional[int] = ..., error: _Optional[str] = ..., worker: _Optional[str] = ..., intermediate: _Optional[_Iterable[_Union[IntermediateValue, _Mapping]]] = ..., note: _Optional[str] = ..., attempt: _Optional[int] = ..., retry_of: _Optional[str] = ..., fold_scores: _Optional[_Union[FoldScores, _Mapping]] = ...) -> None: ...

class TrialEvent(_message.Message):
    __slots__ = ["best", "trial"]
    BEST_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    best: Trial
    trial: Trial
    def __init__(self, trial: _Optional[_Union[Trial, _Mapping]] = ..., best: _Optional[_Union[Trial, _Mapping]] = ...) -> None: ...

class UpdateDatasetLabelsRequest(_message.Message):
    __slots__ = ["dataset", "labels"]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    def __init__(self, dataset: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ...) -> None: ...

class UpdateProviderRequest(_message.Message):
    __slots__ = ["api_key", "base_url", "command", "is_active", "provider"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    base_url: str
    command: _containers.RepeatedScalarFieldContainer[str]
    is_active: bool
    provider: str
    def __init__(self, provider: _Optional[str] = ..., base_url: _Optional[str] = ..., api_key: _Optional[str] = ..., is_active: bool = ..., command: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ["from_seq", "item_results", "job_id"]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    ITEM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    item_results: bool
    job_id: str
    def __init__(self, job_id: _Optional[str] = ..., item_results: bool = ..., from_seq: _Optional[int] = ...) -> None: ...

class WatchJobsRequest(_message.Message):
    __slots__ = ["from_seq", "item_results", "kind"]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    ITEM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    from_seq: int
    item_results: bool
    kind: str
    def __init__(self, kind: _Optional[str] = ..., item_results: bool = ..., from_seq: _Optional[int] = ...) -> None: ...

class ProviderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Sampling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SweepMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ObjectiveDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TrialStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
