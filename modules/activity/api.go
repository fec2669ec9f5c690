package activity

import (
	"context"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// Service is the activity module's contract. Methods read the caller from
// the context (auth.PrincipalFrom): a user's workouts and metrics are
// visible to that user and to admins; anyone else gets NotFound.
type Service interface {
	// WorkoutTypes is the catalog with MET values.
	WorkoutTypes() []WorkoutType
	// StartWorkout starts a live workout for in.UserID. Errors: Conflict
	// (workout_active, with the active session id), Invalid, NotFound.
	StartWorkout(ctx context.Context, in StartInput) (*Started, error)
	// EndWorkout ends a live workout and computes duration and calories.
	// Errors: Invalid (end_time before start or over 24 h after it),
	// Conflict (workout_ended), NotFound (workout_not_found).
	EndWorkout(ctx context.Context, sessionID string, in EndInput) (*Ended, error)
	// LogWorkout records a finished workout after the fact.
	LogWorkout(ctx context.Context, userID string, in LogInput) (*Workout, error)
	// FindWorkouts lists a user's workouts newest first.
	FindWorkouts(ctx context.Context, userID string, f WorkoutFilter) ([]Workout, error)
	// FindWorkout, UpdateWorkout and DeleteWorkout act on one workout of
	// the caller (or any, for an admin).
	FindWorkout(ctx context.Context, sessionID string) (*Workout, error)
	UpdateWorkout(ctx context.Context, sessionID string, upd WorkoutUpdate) (*Workout, error)
	DeleteWorkout(ctx context.Context, sessionID string) error

	// AddSamples stores a batch of health-metric samples all or nothing.
	// Errors: Invalid (field errors samples[i].field), TooLarge.
	AddSamples(ctx context.Context, userID string, in SampleBatch) (*SampleResult, error)
	// MetricSeries buckets one metric over a period in the user's time zone.
	MetricSeries(ctx context.Context, userID, metric string, q SeriesQuery) (*Series, error)
	// LatestMetrics lists every metric with the user's latest sample.
	LatestMetrics(ctx context.Context, userID string) ([]LatestMetric, error)

	// Statistics sums a user's workouts over a range, by type, with the
	// current streak. Errors: Invalid (from, to).
	Statistics(ctx context.Context, userID string, q StatsQuery) (*Statistics, error)
	// Report is a user's weekly or monthly report. Errors: Invalid (week,
	// month).
	Report(ctx context.Context, userID string, q ReportQuery) (*Report, error)
	// Export checks a download of a user's workouts and samples; its
	// WriteTo streams it. Errors: Invalid (from, to, format).
	Export(ctx context.Context, userID string, q ExportQuery) (*Export, error)

	// FindNotifications lists a user's notifications newest first.
	FindNotifications(ctx context.Context, userID string, f NotificationFilter) ([]Notification, error)
	// ReadNotification marks one read (again: no change). Errors: NotFound
	// (notification_not_found).
	ReadNotification(ctx context.Context, userID, notificationID string) (*Notification, error)
	// ReadAllNotifications marks every unread notification of a user read.
	ReadAllNotifications(ctx context.Context, userID string) (*ReadAll, error)
}

// Error sentinels clients can tell apart by code.
var (
	ErrUserNotFound   = apperr.NotFoundf("user_not_found", "User")
	ErrNotFound       = apperr.NotFoundf("workout_not_found", "Workout")
	ErrMetricNotFound = &apperr.Error{Kind: apperr.NotFound, Code: "metric_not_found",
		Message: "Unknown metric; one of " + strings.Join(metricNames(), ", ") + "."}
	ErrEnded           = apperr.E(apperr.Conflict, "workout_ended", "This workout has already ended.")
	ErrChanged         = apperr.E(apperr.Conflict, "workout_changed", "This workout is being changed by another request; try again.")
	ErrActiveNotEdited = &apperr.Error{Kind: apperr.Conflict, Code: "workout_active",
		Message: "End this workout before changing its times.", Fields: map[string]string{"end_time": "end the workout first"}}
)

// StartInput is the body of POST /workouts/start.
type StartInput struct {
	UserID      string `json:"user_id"`
	WorkoutType string `json:"workout_type"`
}

// Started answers a start.
type Started struct {
	SessionID string    `json:"session_id"`
	StartTime time.Time `json:"start_time"`
}

// EndInput is the body of POST /workouts/{session_id}/end; EndTime is
// RFC 3339, empty for now.
type EndInput struct {
	EndTime string `json:"end_time"`
}

// Ended answers an end: duration in seconds.
type Ended struct {
	SessionID         string    `json:"session_id"`
	StartTime         time.Time `json:"start_time"`
	EndTime           time.Time `json:"end_time"`
	Duration          int64     `json:"duration"`
	CaloriesBurned    float64   `json:"calories_burned"`
	CaloriesEstimated bool      `json:"calories_estimated"`
}

// LogInput is the body of POST /users/{user_id}/workouts: a finished
// workout with end_time or duration (seconds).
type LogInput struct {
	WorkoutType  string   `json:"workout_type"`
	StartTime    string   `json:"start_time"`
	EndTime      string   `json:"end_time"`
	Duration     *int64   `json:"duration"`
	DistanceKM   *float64 `json:"distance_km"`
	AvgHeartRate *int     `json:"avg_heart_rate"`
	Notes        string   `json:"notes"`
}

// WorkoutUpdate is the body of PUT /workouts/{session_id}; absent fields
// stay. Times and duration can only change on an ended workout.
type WorkoutUpdate struct {
	WorkoutType  *string  `json:"workout_type"`
	StartTime    *string  `json:"start_time"`
	EndTime      *string  `json:"end_time"`
	Duration     *int64   `json:"duration"`
	DistanceKM   *float64 `json:"distance_km"`
	AvgHeartRate *int     `json:"avg_heart_rate"`
	Notes        *string  `json:"notes"`
}

// WorkoutFilter selects a page of workouts: From and To are RFC 3339 times
// or dates (the user's midnight) bounding start_time.
type WorkoutFilter struct {
	Type   string
	From   string
	To     string
	Limit  int
	Cursor string
}

// SampleBatch is the body of POST /users/{user_id}/metrics.
type SampleBatch struct {
	Samples []SampleInput `json:"samples"`
}

// SampleInput is one sample as posted; RecordedAt is RFC 3339.
type SampleInput struct {
	Metric     string   `json:"metric"`
	Value      *float64 `json:"value"`
	RecordedAt string   `json:"recorded_at"`
	Source     string   `json:"source"`
	SampleID   string   `json:"sample_id"`
}

// SampleResult answers a batch once it is stored.
type SampleResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// SeriesQuery selects buckets: period day (hour buckets), week or month
// (day buckets); From and To are dates in the user's time zone, inclusive.
type SeriesQuery struct {
	Period string
	From   string
	To     string
}

// Series is a metric cut into buckets in the user's time zone.
type Series struct {
	Metric      string   `json:"metric"`
	Unit        string   `json:"unit"`
	Aggregation string   `json:"aggregation"`
	Period      string   `json:"period"`
	Timezone    string   `json:"timezone"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Buckets     []Bucket `json:"buckets"`
}

// Bucket is one hour or day: Value is the sum or the average of the
// samples (by the metric's aggregation); Min and Max are nil when empty.
type Bucket struct {
	Start time.Time `json:"start"`
	Value float64   `json:"value"`
	Count int64     `json:"count"`
	Min   *float64  `json:"min"`
	Max   *float64  `json:"max"`
}

// LatestMetric is a metric with the user's latest sample (nil if none).
type LatestMetric struct {
	Metric
	Latest *LatestSample `json:"latest"`
}

// LatestSample is the newest sample of a metric.
type LatestSample struct {
	Value      float64   `json:"value"`
	RecordedAt time.Time `json:"recorded_at"`
	Source     string    `json:"source"`
}
