package etl

import (
	"cmp"
	"database/sql"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

var (
	stageCols = []string{"user_key", "metric", "date_key", "slots"}
	stageKey  = []string{"user_key", "metric", "date_key"}
	dailyCols = []string{"user_key", "date_key", "metric", "sum_value", "avg_value", "min_value", "max_value", "count"}
	dailyKey  = []string{"user_key", "date_key", "metric"}
)

// userDay is one user's metric on one of their days.
type userDay struct {
	key, metric string
	date        int
}

// applyMetrics lays the changed 15-minute rollups over their days' staged
// slots (a day is the user's local day) and writes each touched day's row
// in the stage and its fact in fact_daily_metrics, aggregated from all of
// its slots.
func (l *Loader) applyMetrics(tx *gorm.DB, rows []MetricChange, st *Stats) error {
	st.table("stage_metric_days").Read += len(rows)
	keys := pseudonyms(l.key, rows, func(m MetricChange) string { return m.UserID })
	zones, erased, err := l.batchUsers(tx, keys)
	if err != nil {
		return err
	}
	days := map[userDay][]slot{}
	dates := map[int]dimDate{}
	for i, m := range rows {
		key := keys[i]
		if erased[key] {
			continue
		}
		local := m.SlotStart.In(zones[key])
		d := dateKey(local)
		if _, ok := dates[d]; !ok {
			dates[d] = dateRow(local)
		}
		ud := userDay{key, m.Metric, d}
		days[ud] = append(days[ud], slot{start: m.SlotStart.UnixMicro(), sum: m.Sum, count: m.Count, min: m.Min, max: m.Max})
	}
	staged, err := stagedDays(tx, days)
	if err != nil {
		return err
	}
	for d, changed := range days {
		days[d] = mergeSlots(staged[d], changed)
	}
	if err := upsertDims(tx, dates, nil); err != nil {
		return err
	}
	if err := l.writeDays(tx, days, staged, st); err != nil {
		return err
	}
	dirty := map[string]int{}
	for d := range days {
		dirtyFrom(dirty, d.key, d.date)
	}
	return markDirty(tx, dirty)
}

// stagedDays reads the staged slots of days: for each user's metric, the
// range of days from the first to the last of days (a batch has a user's
// days together, mostly, as the feed had them), keeping those asked for.
func stagedDays(tx *gorm.DB, days map[userDay][]slot) (map[userDay][]slot, error) {
	type series struct{ key, metric string }
	spans := map[series][2]int{}
	for d := range days {
		s := series{d.key, d.metric}
		if span, ok := spans[s]; !ok {
			spans[s] = [2]int{d.date, d.date}
		} else {
			spans[s] = [2]int{min(span[0], d.date), max(span[1], d.date)}
		}
	}
	rows := make([][]any, 0, len(spans))
	for s, span := range spans {
		rows = append(rows, []any{s.key, s.metric, span[0], span[1]})
	}
	postgres := tx.Dialector.Name() == "postgres"
	out := make(map[userDay][]slot, len(days))
	var blob []byte
	var d userDay
	err := queryChunks(tx, rows, func(n int) string {
		var b strings.Builder
		b.WriteString("SELECT s.user_key, s.metric, s.date_key, s.slots FROM (VALUES ")
		placeholders(&b, postgres, n, []string{"%s", "%s", "CAST(%s AS INTEGER)", "CAST(%s AS INTEGER)"})
		b.WriteString(`) AS d CROSS JOIN stage_metric_days s
WHERE s.user_key = d.column1 AND s.metric = d.column2 AND s.date_key BETWEEN d.column3 AND d.column4`)
		return b.String()
	}, func(r *sql.Rows) error {
		if err := r.Scan(&d.key, &d.metric, &d.date, &blob); err != nil {
			return err
		}
		if _, ok := days[d]; !ok {
			return nil
		}
		slots, err := decodeSlots(blob)
		out[d] = slots
		return err
	})
	return out, err
}

// writeDays writes days' slots (sorted, each start once) into the stage
// and their facts into fact_daily_metrics, in key order: a batch's rows go
// to neighbouring pages of the indexes, not all over them (the feed's
// order is by time, users interleaved). The days in staged have rows in
// both; the others have none.
func (l *Loader) writeDays(tx *gorm.DB, days, staged map[userDay][]slot, st *Stats) error {
	order := slices.SortedFunc(maps.Keys(days), func(a, b userDay) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.metric, b.metric), cmp.Compare(a.date, b.date))
	})
	var stage, facts [2][][]any // added, changed
	for _, d := range order {
		i := 0
		if _, ok := staged[d]; ok {
			i = 1
		}
		stage[i] = append(stage[i], []any{d.key, d.metric, d.date, encodeSlots(days[d])})
		facts[i] = append(facts[i], dayFact(d, days[d]))
	}
	if err := l.write(tx, "stage_metric_days", stageCols, stageKey, stage[0], stage[1]); err != nil {
		return err
	}
	if err := l.write(tx, "fact_daily_metrics", dailyCols, dailyKey, facts[0], facts[1]); err != nil {
		return err
	}
	st.table("stage_metric_days").Written += len(order)
	st.table("fact_daily_metrics").Written += len(order)
	return nil
}

// redateMetrics dates a user's staged slots again in their (new) zone:
// their days are regrouped and written again, with their facts.
func (l *Loader) redateMetrics(tx *gorm.DB, key string, loc *time.Location, st *Stats) error {
	var staged []struct {
		Metric string
		Slots  []byte
	}
	if err := tx.Table("stage_metric_days").Select("metric", "slots").Where("user_key = ?", key).Find(&staged).Error; err != nil {
		return err
	}
	for _, t := range []string{"stage_metric_days", "fact_daily_metrics"} {
		res := tx.Exec("DELETE FROM "+t+" WHERE user_key = ?", key)
		if res.Error != nil {
			return res.Error
		}
		st.table(t).Written += int(res.RowsAffected)
	}
	days := map[userDay][]slot{}
	dates := map[int]dimDate{}
	for _, s := range staged {
		slots, err := decodeSlots(s.Slots)
		if err != nil {
			return err
		}
		for _, sl := range slots {
			local := time.UnixMicro(sl.start).In(loc)
			d := userDay{key, s.Metric, dateKey(local)}
			dates[d.date] = dateRow(local)
			days[d] = append(days[d], sl)
		}
	}
	for d, slots := range days { // a day's slots came from one or two former days, each in order
		days[d] = mergeSlots(slots, nil)
	}
	if err := upsertDims(tx, dates, nil); err != nil {
		return err
	}
	return l.writeDays(tx, days, nil, st) // the user's days were all deleted
}

// markDirty queues users' goals for new snapshots (snapshotGoals) from the
// day each maps to (0: all days); a user queued already keeps the earlier
// day.
func markDirty(tx *gorm.DB, from map[string]int) error {
	rows := make([][]any, 0, len(from))
	for k, d := range from {
		rows = append(rows, []any{k, d})
	}
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	postgres := tx.Dialector.Name() == "postgres"
	return queryChunks(tx, rows, func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO etl_dirty_users (user_key, from_date) VALUES ")
		placeholders(&b, postgres, n, []string{"%s", "%s"})
		b.WriteString(` ON CONFLICT (user_key) DO UPDATE SET from_date = CASE
	WHEN excluded.from_date < etl_dirty_users.from_date THEN excluded.from_date ELSE etl_dirty_users.from_date END`)
		return b.String()
	}, nil)
}

// dirtyFrom adds day to a user's first changed day in from.
func dirtyFrom(from map[string]int, key string, day int) {
	if d, ok := from[key]; !ok || day < d {
		from[key] = day
	}
}

// mapKeys is the distinct f(k) of m's keys.
func mapKeys[K comparable, V any](m map[K]V, f func(K) string) []string {
	seen := make(map[string]bool, len(m))
	var out []string
	for k := range m {
		if s := f(k); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pseudonyms are the rows' users' keys, each computed once a batch.
func pseudonyms[T any](key []byte, rows []T, user func(T) string) []string {
	out := make([]string, len(rows))
	known := map[string]string{}
	for i, r := range rows {
		id := user(r)
		k, ok := known[id]
		if !ok {
			k = pseudonym(key, id)
			known[id] = k
		}
		out[i] = k
	}
	return out
}
