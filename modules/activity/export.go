package activity

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/apperr"
)

// ExportQuery picks a download: dates (the user's days, inclusive) or RFC
// 3339 times, default the last 30 days; Format csv (default) or json.
type ExportQuery struct {
	From, To, Format string
}

// Export is a validated download of a user's workouts and samples,
// streamed by WriteTo in constant memory.
type Export struct {
	UserID   string
	Format   string
	From, To time.Time
	store    Store
}

// exportCSVHeader are the CSV columns: workouts and samples share them.
var exportCSVHeader = []string{"record", "time", "end_time", "name", "value", "unit", "source", "id",
	"duration", "calories_burned", "distance_km", "avg_heart_rate", "notes"}

// Export implements Service.
func (s *service) Export(ctx context.Context, userID string, q ExportQuery) (*Export, error) {
	u, err := s.forUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	if q.Format == "" {
		q.Format = "csv"
	}
	if q.Format != "csv" && q.Format != "json" {
		return nil, apperr.FieldError("format", "must be csv or json")
	}
	loc := location(u)
	now := s.clock()
	from, to, err := rangeOf(q.From, q.To, loc, localDay(now, loc).AddDate(0, 0, -29), now)
	if err != nil {
		return nil, err
	}
	return &Export{UserID: userID, Format: q.Format, From: from, To: to, store: s.store}, nil
}

// Filename names the download.
func (e *Export) Filename() string {
	return "fitloop-" + e.From.Format("20060102") + "-" + e.To.Format("20060102") + "." + e.Format
}

// ContentType is the download's media type.
func (e *Export) ContentType() string {
	if e.Format == "json" {
		return "application/json"
	}
	return "text/csv; charset=utf-8"
}

// WriteTo streams the workouts (oldest first) then the samples (by metric,
// then time). An error after the first bytes leaves the output cut short:
// the caller must drop the connection rather than end the body cleanly.
func (e *Export) WriteTo(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	if e.Format == "json" {
		err = e.writeJSON(ctx, bw)
	} else {
		err = e.writeCSV(ctx, bw)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (e *Export) writeCSV(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(exportCSVHeader); err != nil {
		return err
	}
	row := make([]string, len(exportCSVHeader))
	err := e.store.EachWorkout(ctx, e.UserID, e.From, e.To, func(wk *Workout) error {
		clear(row)
		row[0], row[1], row[3], row[6], row[7] = "workout", stamp(wk.StartTime), cell(wk.WorkoutType), wk.Source, wk.ID
		if wk.EndTime != nil {
			row[2] = stamp(*wk.EndTime)
		}
		row[8], row[9] = strconv.FormatInt(wk.Duration, 10), num(wk.CaloriesBurned)
		if wk.DistanceKM != nil {
			row[10] = num(*wk.DistanceKM)
		}
		if wk.AvgHeartRate != nil {
			row[11] = strconv.Itoa(*wk.AvgHeartRate)
		}
		row[12] = cell(wk.Notes)
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	units := map[string]string{}
	for _, m := range Metrics {
		units[m.Name] = m.Unit
	}
	err = e.store.EachSample(ctx, e.UserID, e.From, e.To, func(sm *Sample) error {
		clear(row)
		row[0], row[1], row[3], row[4], row[5] = "sample", stamp(sm.RecordedAt), sm.Metric, num(sm.Value), units[sm.Metric]
		row[6], row[7] = cell(sm.Source), cell(sm.SampleID)
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (e *Export) writeJSON(ctx context.Context, w *bufio.Writer) error {
	head, err := json.Marshal(map[string]any{"user_id": e.UserID, "from": e.From, "to": e.To})
	if err != nil {
		return err
	}
	w.Write(head[:len(head)-1]) // the object stays open; bufio keeps the first error
	enc := json.NewEncoder(w)
	sep := func(first *bool) {
		if !*first {
			w.WriteByte(',')
		}
		*first = false
	}
	w.WriteString(`,"workouts":[`)
	first := true
	err = e.store.EachWorkout(ctx, e.UserID, e.From, e.To, func(wk *Workout) error {
		sep(&first)
		return enc.Encode(wk)
	})
	if err != nil {
		return err
	}
	w.WriteString(`],"samples":[`)
	first = true
	err = e.store.EachSample(ctx, e.UserID, e.From, e.To, func(sm *Sample) error {
		sep(&first)
		return enc.Encode(sm)
	})
	if err != nil {
		return err
	}
	_, err = w.WriteString("]}\n")
	return err
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// cell keeps a spreadsheet from reading user text as a formula (CSV
// injection): text starting with = + - @ or a control character gets a
// leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
