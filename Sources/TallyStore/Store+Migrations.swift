import GRDB

extension Store {
    /// The schema's history. Migrations are applied in order and never edited once released:
    /// a change to the schema is a new migration appended here.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_store_meta") { db in
            try db.create(table: "store_meta") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
            try db.execute(
                sql: "INSERT INTO store_meta (key, value) VALUES ('created_at_ms', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"
            )
        }
        migrator.registerMigration("v2_tracking") { db in
            try db.execute(sql: trackingSchema)
        }
        migrator.registerMigration("v3_artifact_version_counters") { db in
            // Version numbers are never reused, even after the highest version is deleted.
            try db.execute(sql: """
                CREATE TABLE artifact_names (
                    experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    next_version INTEGER NOT NULL,
                    PRIMARY KEY (experiment_pk, name)
                ) WITHOUT ROWID;
                INSERT INTO artifact_names (experiment_pk, name, next_version)
                    SELECT experiment_pk, name, MAX(version) + 1 FROM artifacts GROUP BY experiment_pk, name;
                """)
        }
        migrator.registerMigration("v4_jobs") { db in
            try db.execute(sql: jobsSchema)
        }
        migrator.registerMigration("v5_sweeps") { db in
            try db.execute(sql: sweepsSchema)
        }
        migrator.registerMigration("v6_metric_chunks") { db in
            // Points move from one row each into per-series chunks (Store+Metrics.swift).
            try db.execute(sql: metricChunksSchema)
            try moveMetricPointsToChunks(db)
        }
        migrator.registerMigration("v7_nullable_series_sum") { db in
            // A series holding both +inf and -inf has a NaN sum, which SQLite stores as NULL:
            // `sum` becomes nullable (NULL: no defined sum, so no mean). SQLite cannot drop a
            // NOT NULL constraint in place, so the table is rebuilt.
            try db.execute(sql: """
                CREATE TABLE metric_series_new (
                    pk INTEGER PRIMARY KEY,
                    run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    count INTEGER NOT NULL DEFAULT 0,
                    finite_count INTEGER NOT NULL DEFAULT 0,
                    min REAL,
                    max REAL,
                    sum REAL DEFAULT 0,
                    last_value REAL,
                    last_step INTEGER NOT NULL DEFAULT -1,
                    last_timestamp_ms INTEGER NOT NULL DEFAULT 0,
                    first_step INTEGER NOT NULL DEFAULT 0,
                    UNIQUE (run_pk, key)
                );
                INSERT INTO metric_series_new
                    (pk, run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step)
                    SELECT pk, run_pk, key, count, finite_count, min, max, sum, last_value, last_step, last_timestamp_ms, first_step
                    FROM metric_series;
                DROP TABLE metric_series;
                ALTER TABLE metric_series_new RENAME TO metric_series;
                """)
        }
        migrator.registerMigration("v8_run_writers") { db in
            // Crashed runs and idempotent delivery (docs/journal.md): the last time a run's
            // writer was heard from, and the (writer, sequence) of every batch stored with a
            // writer id, so that a batch delivered twice is stored once.
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN last_contact_ms INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE run_batches (
                    run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
                    writer_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    PRIMARY KEY (run_pk, writer_id, sequence)
                ) WITHOUT ROWID;
                CREATE INDEX sweep_trials_run ON sweep_trials(run_id);
                """)
        }
        migrator.registerMigration("v9_job_updated_at") { db in
            // When a job last changed (status, progress, results); jobs stored before get their
            // latest known time.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN updated_at_ms INTEGER NOT NULL DEFAULT 0;
                UPDATE jobs SET updated_at_ms = MAX(created_at_ms, started_at_ms, completed_at_ms);
                """)
        }
        migrator.registerMigration("v10_run_note") { db in
            // A free-text note per run.
            try db.execute(sql: "ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v11_folder_artifacts") { db in
            // Folder artifacts: the version's sha256/size are its manifest's; each file is a
            // blob of its own, listed in artifact_files (which garbage collection consults too).
            try db.execute(sql: """
                ALTER TABLE artifacts ADD COLUMN folder INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE artifacts ADD COLUMN file_count INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE artifacts ADD COLUMN files_size INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE artifact_files (
                    artifact_pk INTEGER NOT NULL REFERENCES artifacts(pk) ON DELETE CASCADE,
                    path TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    PRIMARY KEY (artifact_pk, path)
                ) WITHOUT ROWID;
                CREATE INDEX artifact_files_sha256 ON artifact_files(sha256);
                """)
        }
        migrator.registerMigration("v12_access_tokens") { db in
            // Teams (docs/teams.md): who made a run, and the access tokens of TCP clients (the
            // SHA-256 of each secret, never the secret).
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
                CREATE TABLE access_tokens (
                    name TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    secret_hash BLOB NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    expires_at_ms INTEGER NOT NULL DEFAULT 0,
                    created_by TEXT NOT NULL DEFAULT ''
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v13_job_leases") { db in
            // Several daemons on one store (docs/teams.md): who runs an unfinished job, until when.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
                ALTER TABLE jobs ADD COLUMN lease_expires_ms INTEGER NOT NULL DEFAULT 0;
                """)
        }
        return migrator
    }()

    /// The trials of sweep jobs. status: tally.v1.TrialStatus; trial is the serialized
    /// tally.v1.Trial (params, folds, intermediate values), the other columns are for lookups.
    static let sweepsSchema = """
        CREATE TABLE sweep_trials (
            job_pk INTEGER NOT NULL REFERENCES jobs(pk) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            id TEXT NOT NULL UNIQUE,
            status INTEGER NOT NULL,
            score REAL,
            method_used TEXT NOT NULL DEFAULT '',
            run_id TEXT NOT NULL DEFAULT '',
            heartbeat_ms INTEGER NOT NULL DEFAULT 0,
            trial BLOB NOT NULL,
            PRIMARY KEY (job_pk, number)
        ) WITHOUT ROWID;
        """

    /// Datasets, providers, background jobs and their per-item results.
    static let jobsSchema = """
        CREATE TABLE datasets (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE TABLE dataset_labels (
            dataset_pk INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            label_id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (dataset_pk, label_id)
        ) WITHOUT ROWID;
        CREATE TABLE dataset_items (
            dataset_pk INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            text TEXT NOT NULL,
            label TEXT NOT NULL,
            PRIMARY KEY (dataset_pk, item_id)
        ) WITHOUT ROWID;

        -- kind: tally.v1.ProviderKind. api_key holds AES-GCM ciphertext (nonce, ciphertext, tag).
        CREATE TABLE providers (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE,
            kind INTEGER NOT NULL,
            base_url TEXT NOT NULL DEFAULT '',
            command TEXT NOT NULL DEFAULT '[]',
            api_key BLOB,
            is_active INTEGER NOT NULL DEFAULT 1,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );

        -- status: tally.v1.JobStatus. config and results are serialized protobuf messages.
        CREATE TABLE jobs (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            status INTEGER NOT NULL,
            config BLOB NOT NULL,
            results BLOB,
            error TEXT NOT NULL DEFAULT '',
            experiment_id TEXT NOT NULL DEFAULT '',
            progress_current INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER NOT NULL DEFAULT 0,
            created_at_ms INTEGER NOT NULL,
            started_at_ms INTEGER NOT NULL DEFAULT 0,
            completed_at_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX jobs_created ON jobs(created_at_ms);
        CREATE INDEX jobs_status ON jobs(status);
        -- One row per (job, model, item): what resuming after a restart skips.
        CREATE TABLE job_items (
            job_pk INTEGER NOT NULL REFERENCES jobs(pk) ON DELETE CASCADE,
            model TEXT NOT NULL,
            item_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            result BLOB NOT NULL,
            is_error INTEGER NOT NULL,
            PRIMARY KEY (job_pk, model, item_id)
        ) WITHOUT ROWID;
        """

    /// The tracking schema. Rows reference each other by integer `pk`; the string `id` is what
    /// clients see. Times are unix milliseconds.
    static let trackingSchema = """
        CREATE TABLE experiments (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL DEFAULT '',
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        );
        CREATE INDEX experiments_created ON experiments(created_at_ms);
        CREATE TABLE experiment_tags (
            experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (experiment_pk, key)
        ) WITHOUT ROWID;
        CREATE TABLE experiment_metric_goals (
            experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            goal INTEGER NOT NULL,
            PRIMARY KEY (experiment_pk, key)
        ) WITHOUT ROWID;

        -- status: 1 running, 2 completed, 3 failed, 4 killed, 5 crashed (tally.v1.RunStatus).
        CREATE TABLE runs (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
            parent_pk INTEGER REFERENCES runs(pk) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            status INTEGER NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            started_at_ms INTEGER NOT NULL,
            completed_at_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX runs_experiment ON runs(experiment_pk, started_at_ms);
        CREATE INDEX runs_parent ON runs(parent_pk);
        CREATE TABLE run_tags (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_pk, key)
        ) WITHOUT ROWID;

        -- type: 1 string, 2 int, 3 double, 4 bool. `value` has no declared type, so SQLite keeps
        -- what was stored: TEXT for strings, INTEGER for ints and bools (0/1), REAL for doubles;
        -- numeric comparisons between ints and doubles work as expected.
        CREATE TABLE params (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            type INTEGER NOT NULL,
            value,
            PRIMARY KEY (run_pk, key)
        ) WITHOUT ROWID;

        -- One row per (run, key) with aggregates kept up to date on ingest. NaN values are
        -- counted but left out of min, max and sum; `finite_count` counts the others.
        CREATE TABLE metric_series (
            pk INTEGER PRIMARY KEY,
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            finite_count INTEGER NOT NULL DEFAULT 0,
            min REAL,
            max REAL,
            sum REAL NOT NULL DEFAULT 0,
            last_value REAL,
            last_step INTEGER NOT NULL DEFAULT -1,
            last_timestamp_ms INTEGER NOT NULL DEFAULT 0,
            first_step INTEGER NOT NULL DEFAULT 0,
            UNIQUE (run_pk, key)
        );
        -- SQLite stores NaN as NULL: a NULL value is a NaN point.
        CREATE TABLE metric_points (
            series_pk INTEGER NOT NULL,
            step INTEGER NOT NULL,
            value REAL,
            timestamp_ms INTEGER NOT NULL
        );
        CREATE INDEX metric_points_series_step ON metric_points(series_pk, step);

        -- type: tally.v1.ArtifactType. Content lives in the blob store under its sha256.
        CREATE TABLE artifacts (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
            run_pk INTEGER REFERENCES runs(pk) ON DELETE CASCADE,
            name TEXT NOT NULL,
            type INTEGER NOT NULL,
            version INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at_ms INTEGER NOT NULL,
            UNIQUE (experiment_pk, name, version)
        );
        CREATE INDEX artifacts_run ON artifacts(run_pk);
        CREATE INDEX artifacts_sha256 ON artifacts(sha256);
        CREATE TABLE artifact_metadata (
            artifact_pk INTEGER NOT NULL REFERENCES artifacts(pk) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (artifact_pk, key)
        ) WITHOUT ROWID;
        -- User aliases; "latest" is not stored, it is always the highest version.
        CREATE TABLE artifact_aliases (
            experiment_pk INTEGER NOT NULL REFERENCES experiments(pk) ON DELETE CASCADE,
            name TEXT NOT NULL,
            alias TEXT NOT NULL,
            artifact_pk INTEGER NOT NULL REFERENCES artifacts(pk) ON DELETE CASCADE,
            PRIMARY KEY (experiment_pk, name, alias)
        ) WITHOUT ROWID;
        """

    /// Points of a series in chunks of up to ``metricChunkCapacity``, in the order logged.
    static let metricChunksSchema = """
        -- A chunk's step range, point count, and lowest and highest non-NaN point (NULL when
        -- every value is NaN), so that range queries and downsampling can skip its points.
        CREATE TABLE metric_chunks (
            pk INTEGER PRIMARY KEY,
            series_pk INTEGER NOT NULL,
            count INTEGER NOT NULL,
            step_low INTEGER NOT NULL,
            step_high INTEGER NOT NULL,
            min_value REAL,
            min_step INTEGER,
            min_time INTEGER,
            max_value REAL,
            max_step INTEGER,
            max_time INTEGER
        );
        CREATE INDEX metric_chunks_series ON metric_chunks(series_pk);
        -- The chunk's points: `count` steps (int64), then `count` values (float64, NaN kept),
        -- then `count` times in ms (int64), little-endian.
        CREATE TABLE metric_chunk_data (
            chunk_pk INTEGER PRIMARY KEY,
            data BLOB NOT NULL
        );
        """

    /// Moves the rows of the one-row-per-point table into chunks, series by series in the order
    /// logged, and drops the table.
    static func moveMetricPointsToChunks(_ db: Database) throws {
        for seriesPK in try Int64.fetchAll(db, sql: "SELECT pk FROM metric_series ORDER BY pk") {
            var columns = PointColumns()
            let rows = try Row.fetchCursor(
                db, sql: "SELECT step, value, timestamp_ms FROM metric_points WHERE series_pk = ? ORDER BY rowid", arguments: [seriesPK])
            while let row = try rows.next() {
                columns.append(step: row[0], value: (row[1] as Double?) ?? .nan, time: row[2])
                if columns.count == metricChunkCapacity {
                    _ = try insertChunk(db, seriesPK: seriesPK, columns)
                    columns = PointColumns()
                }
            }
            if columns.count > 0 {
                _ = try insertChunk(db, seriesPK: seriesPK, columns)
            }
        }
        try db.execute(sql: "DROP TABLE metric_points")
    }
}
