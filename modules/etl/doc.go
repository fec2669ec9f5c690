// Package etl loads the reporting warehouse and serves analytics from it.
// The warehouse is a star schema (dim_user, dim_date, dim_workout_type,
// dim_goal, fact_workouts, fact_daily_metrics, fact_goal_progress,
// fact_group_sessions) in a database of its own — a
// SQLite file by default, PostgreSQL in production, possibly another server
// than the operational database — with its own migrations
// (migrations/{sqlite,postgres}, versions recorded in
// etl_schema_migrations).
//
// Extract. The loader reads the other modules only through change feeds
// (deps.go): "rows changed after cursor C, at most N", deletions included
// as tombstones, ordered by (changed_at, id). It never reads their tables.
// Five feeds: accounts and goals (users), workouts and the 15-minute
// rollups of samples (activity), ended live sessions' attendance (groups).
//
// Transform. Users appear only by a pseudonymous key (an HMAC of their id
// under a secret key), with their role, signup date and time zone: no
// email, name or biometrics. Facts are dated by the user's local day.
// Rollups are staged a row per user, metric and local day
// (stage_metric_days, the day's slots packed): a batch lays its rollups
// over their days' staged slots and writes each touched day's row and its
// fact in fact_daily_metrics, aggregated from all of the day's slots. Goal
// snapshots are derived inside the warehouse: a batch that changes a
// user's facts or goals queues the user with the first day that changed
// (etl_dirty_users, in the batch's transaction: a moved or deleted
// workout's former day counts; a changed goal or time zone means all
// days); the last step of a run takes the queued users' goals again from
// that day, and extends the other active goals to today in their user's
// zone (dim_goal.snapshot_through). A day's progress is the goal's measure
// over its period so far — the day's samples of the metric plus what each
// finished workout adds, as the activity module measures goals
// (measure.go) — or for weight the latest weight.
//
// Load. Incremental by watermark: each source's cursor is kept in
// etl_watermarks and moved in the same warehouse transaction as the batch
// it covers, so a crash mid-run leaves the warehouse consistent and the
// next run carries on with no duplicates. Rows are upserted by their source
// ids, so loading a batch twice changes nothing; each run starts a lag
// window (Lag) before the watermark, because replicas' clocks and commit
// order make changed_at only roughly monotonic, and re-reading is harmless.
// A deleted user takes every fact of theirs out, and their later changes
// stay out (etl_erased_users); a tombstoned workout takes its fact. The
// users feed reports a closed account as deleted, and a deletion that fails
// reopens it: the fact feeds are then read again from the start. A user
// whose time zone changes has their facts dated again in the new one.
// These are what the property test checks: any mix of changes and runs
// (some failing midway) equals a full load into a fresh warehouse.
//
// Speed. A first or full load builds the facts' secondary indexes after
// the feeds (indexes.go); on PostgreSQL, the staged days and their facts
// go in with COPY (straight into the table when known to be new). `fitloop etl run` reads a feed's next page while it writes the
// current one; a load in the server reads and writes in turn and pauses
// after each batch (serverPace), so that it never takes a small machine's
// cores from the API. Figures: docs/BENCHMARKS.md.
//
// Runs. Runner records every load in etl_runs (operational database, so
// runs can be listed while the warehouse is down): trigger, full or not,
// status, rows read and written per table, the watermarks reached, the
// error. A unique index lets one load run at a time across replicas; a run
// stops after maxRun (etl.max_run, DefaultMaxRun), and one still running a
// minute later is taken for abandoned by the next one.
//
// Wiring (module.go): New opens the warehouse (the pseudonym key from
// etl.pseudonym_key or generated once into the data directory), Load is the
// hourly cron job etl.load (a load already running makes its slot a no-op),
// Command is `fitloop etl run [--full]`, and RegisterAdminRoutes adds POST
// /admin/etl/run and GET /admin/etl/runs.
//
// A circuit breaker guards every warehouse call (3 failures open it for
// 30 s): a load while it is open fails at once, recorded as failed, and the
// admin route answers 503 warehouse_unavailable.
//
// Analytics (analytics*.go) answer from the warehouse through the same
// breaker — 503 warehouse_unavailable when it is down, never waiting on
// it: GET /analytics/leaderboard (members who opted in, named through the
// Members dependency at each request, and the caller's own standing), GET
// /users/{user_id}/trends (weekly totals, moving average, linear trend,
// each active goal's projected completion) and GET
// /admin/analytics/overview (active users, workouts, top types, goal
// attainment).
package etl
