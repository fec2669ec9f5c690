package activity

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// seedType is how Seed makes up a workout of one catalog type.
type seedType struct {
	weight     int        // how often users pick it as a favourite
	minutes    [2]int     // duration range
	intensity  [2]float64 // plateau heart rate as a fraction of the heart-rate reserve
	kmh        [2]float64 // speed range of a distance type; zero: no distance
	cadence    float64    // steps a minute of an on-foot type
	intervals  bool       // heart rate alternates every two minutes (HIIT)
	startSlots []int      // times of day it may start at; nil: any
}

// seedTypes covers the catalog (catalog.go); a type missing here is never
// seeded.
var seedTypes = map[string]seedType{
	"running":    {weight: 10, minutes: [2]int{20, 60}, intensity: [2]float64{0.70, 0.85}, kmh: [2]float64{8, 13}, cadence: 160},
	"cycling":    {weight: 8, minutes: [2]int{30, 100}, intensity: [2]float64{0.60, 0.75}, kmh: [2]float64{17, 28}},
	"swimming":   {weight: 3, minutes: [2]int{25, 55}, intensity: [2]float64{0.60, 0.75}, kmh: [2]float64{2, 3.5}},
	"walking":    {weight: 9, minutes: [2]int{20, 75}, intensity: [2]float64{0.30, 0.45}, kmh: [2]float64{4.5, 6}, cadence: 110},
	"hiking":     {weight: 2, minutes: [2]int{60, 210}, intensity: [2]float64{0.45, 0.60}, kmh: [2]float64{3, 5}, cadence: 100, startSlots: []int{0}},
	"strength":   {weight: 9, minutes: [2]int{30, 70}, intensity: [2]float64{0.40, 0.55}},
	"yoga":       {weight: 5, minutes: [2]int{30, 75}, intensity: [2]float64{0.20, 0.35}},
	"pilates":    {weight: 2, minutes: [2]int{30, 55}, intensity: [2]float64{0.30, 0.40}},
	"hiit":       {weight: 4, minutes: [2]int{15, 35}, intensity: [2]float64{0.75, 0.88}, intervals: true},
	"rowing":     {weight: 2, minutes: [2]int{15, 45}, intensity: [2]float64{0.65, 0.80}},
	"elliptical": {weight: 3, minutes: [2]int{20, 50}, intensity: [2]float64{0.55, 0.70}},
	"dancing":    {weight: 2, minutes: [2]int{30, 60}, intensity: [2]float64{0.55, 0.70}, cadence: 90},
	"stretching": {weight: 3, minutes: [2]int{10, 30}, intensity: [2]float64{0.10, 0.20}},
	"other":      {weight: 1, minutes: [2]int{20, 60}, intensity: [2]float64{0.40, 0.60}},
}

// seedSlots are the times of day workouts start in, in minutes after local
// midnight: morning, lunch, evening.
var seedSlots = [][2]int{{360, 480}, {720, 780}, {1020, 1170}}

// Sources of seeded samples.
const (
	seedPhone = "phone" // steps
	seedWatch = "watch" // heart rate and workout totals
	seedScale = "scale" // weight
)

// seedGen makes up one user's data. Every random choice comes from r in a
// fixed order, so the same r gives the same data.
type seedGen struct {
	r        *rand.Rand
	loc      *time.Location
	from     time.Time // signup: nothing before it
	now      time.Time // nothing after it
	weightKG float64   // for calories
	estimate bool      // weightKG is DefaultWeightKG

	steps     float64  // a weekday's mean
	weekend   float64  // weekend steps factor
	wake, bed int      // weekday hours
	perDay    float64  // mean workouts a weekday; 0: never
	favs      []string // favourite workout types, most liked first
	slot      int      // preferred time of day (seedSlots)
	restHR    float64  // resting heart rate
	maxHR     float64  // maximal heart rate
	body      float64  // body weight on the day being made, kg
	trend     float64  // kg a day
	weighIn   float64  // chance of a weight_kg sample a day
	workouts  []*Workout
	samples   map[string][]Sample
	dayHours  []time.Time // scratch: the hours of the day being made
	daySteps  []float64
	dayWeight []float64
}

func newSeedGen(r *rand.Rand, loc *time.Location, from, now time.Time, weight *float64) *seedGen {
	g := &seedGen{r: r, loc: loc, from: from, now: now, samples: map[string][]Sample{}}
	g.steps = seedClamp(7500*math.Exp(0.4*r.NormFloat64()), 2500, 20000)
	g.weekend = 0.7 + 0.6*r.Float64()
	g.wake, g.bed = 6+r.IntN(3), 22+r.IntN(3)
	if r.Float64() >= 0.06 { // a few users never work out
		g.perDay = 0.3 + 1.3*r.Float64()
	}
	g.favs = g.pickFavourites(2 + r.IntN(3))
	g.slot = r.IntN(len(seedSlots))
	age := 20 + r.IntN(46)
	g.restHR = float64(52 + r.IntN(24))
	g.maxHR = 208 - 0.7*float64(age) // Tanaka et al. 2001
	g.body = seedClamp(75+13*r.NormFloat64(), 45, 140)
	g.trend = 0.02 * r.NormFloat64()
	g.weighIn = 0.05 + 0.25*r.Float64()
	g.weightKG, g.estimate = DefaultWeightKG, true
	if weight != nil && *weight > 0 {
		g.weightKG, g.estimate, g.body = *weight, false, *weight
	}
	return g
}

// pickFavourites draws n catalog types without repetition, the popular
// ones likelier.
func (g *seedGen) pickFavourites(n int) []string {
	var pool []string
	var weights []int
	for _, wt := range WorkoutTypes {
		if st, ok := seedTypes[wt.Type]; ok && st.weight > 0 {
			pool, weights = append(pool, wt.Type), append(weights, st.weight)
		}
	}
	var out []string
	for len(out) < n && len(pool) > 0 {
		i := g.weighted(weights)
		out = append(out, pool[i])
		pool, weights = slices.Delete(pool, i, i+1), slices.Delete(weights, i, i+1)
	}
	return out
}

// weighted returns an index of weights, each as likely as its weight.
func (g *seedGen) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := g.r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// run makes up days local days, the last one holding now.
func (g *seedGen) run(days int) {
	g.body -= g.trend * float64(days) // so that it ends near today's weight
	y, m, d := g.now.In(g.loc).Date()
	for i := days - 1; i >= 0; i-- {
		start := time.Date(y, m, d-i, 0, 0, 0, 0, g.loc)
		end := time.Date(y, m, d-i+1, 0, 0, 0, 0, g.loc)
		if end.After(g.from) {
			g.day(start, end)
		}
	}
}

// day makes up the local day [start, end).
func (g *seedGen) day(start, end time.Time) {
	weekend := start.Weekday() == time.Saturday || start.Weekday() == time.Sunday
	wake, bed := g.wake, g.bed
	if weekend {
		wake, bed = wake+1+g.r.IntN(2), min(bed+1, 24)
	}
	g.body += g.trend + 0.05*g.r.NormFloat64()
	if g.r.Float64() < g.weighIn {
		at := start.Add(time.Duration(wake)*time.Hour + time.Duration(5+g.r.IntN(40))*time.Minute)
		g.emit("weight_kg", seedScale, at, math.Round(seedClamp(g.body+0.3*g.r.NormFloat64(), 20, 500)*10)/10)
	}
	g.hours(start, end, wake, bed, weekend)
	g.dayWorkouts(start, weekend)
	for i, at := range g.dayHours {
		if v := math.Round(g.daySteps[i]); v > 0 && !at.Add(time.Hour).After(g.now) {
			g.emit("steps", seedPhone, at, min(v, 100_000))
		}
	}
}

// hours spreads the day's steps over its waking hours: more on the way to
// work, at lunch and after work.
func (g *seedGen) hours(start, end time.Time, wake, bed int, weekend bool) {
	g.dayHours, g.daySteps, g.dayWeight = g.dayHours[:0], g.daySteps[:0], g.dayWeight[:0]
	total := g.steps * math.Exp(0.3*g.r.NormFloat64())
	if weekend {
		total *= g.weekend
	}
	if g.r.Float64() < 0.04 { // a lazy or sick day
		total *= 0.35
	}
	total = seedClamp(total, 800, 40_000)
	sum := 0.0
	for at := start; at.Before(end); at = at.Add(time.Hour) {
		w := 0.0
		if h := at.In(g.loc).Hour(); h >= wake && h < bed {
			w = seedHourShape(h, wake) * (0.5 + g.r.Float64())
		}
		g.dayHours, g.dayWeight = append(g.dayHours, at), append(g.dayWeight, w)
		sum += w
	}
	for _, w := range g.dayWeight {
		g.daySteps = append(g.daySteps, total*w/max(sum, 1e-9))
	}
}

func seedHourShape(h, wake int) float64 {
	switch {
	case h == wake+1 || h == 12 || h == 17 || h == 18:
		return 1.8
	case h >= 21:
		return 0.5
	}
	return 1
}

// dayWorkouts makes up 0–2 workouts in different slots of the day.
func (g *seedGen) dayWorkouts(start time.Time, weekend bool) {
	perDay := g.perDay
	if weekend {
		perDay *= 1.2
	}
	n := 0
	for range 2 {
		if g.r.Float64() < perDay/2 {
			n++
		}
	}
	first := g.slot
	if g.r.Float64() >= 0.75 {
		first = g.r.IntN(len(seedSlots))
	}
	second := (first + 1 + g.r.IntN(len(seedSlots)-1)) % len(seedSlots)
	slots := []int{first, second}[:n]
	slices.Sort(slots)
	earliest := start
	for _, slot := range slots {
		typ := g.pickType(slot)
		st := seedTypes[typ]
		lo, hi := seedSlots[slot][0], seedSlots[slot][1]
		at := start.Add(time.Duration(lo+g.r.IntN(hi-lo))*time.Minute + time.Duration(g.r.IntN(60))*time.Second)
		at = seedLater(at, earliest)
		dur := time.Duration(st.minutes[0]+g.r.IntN(st.minutes[1]-st.minutes[0]+1))*time.Minute +
			time.Duration(g.r.IntN(60))*time.Second
		if at.Add(dur).After(start.Add(23*time.Hour + 30*time.Minute)) {
			return // no time left today
		}
		g.workout(start, typ, st, at, dur)
		earliest = at.Add(dur + 45*time.Minute)
	}
}

// pickType draws one of the user's favourite types that may start in slot,
// the most liked likelier; walking if none may.
func (g *seedGen) pickType(slot int) string {
	typ := g.favs[g.weighted([]int{4, 2, 1, 1}[:len(g.favs)])]
	for _, t := range append([]string{typ}, g.favs...) {
		if s := seedTypes[t].startSlots; s == nil || slices.Contains(s, slot) {
			return t
		}
	}
	return "walking"
}

// workout makes up one workout, its heart rates and totals, and adds its
// steps to the day's hours; it keeps what lies within [from, now].
func (g *seedGen) workout(day time.Time, typ string, st seedType, start time.Time, dur time.Duration) {
	wt, _ := workoutType(typ)
	start = start.UTC()
	end := start.Add(dur)
	w := &Workout{WorkoutType: typ, StartTime: start, EndTime: &end, Duration: int64(dur / time.Second),
		CaloriesBurned: Calories(wt.MET, g.weightKG, int64(dur/time.Second)), CaloriesEstimated: g.estimate,
		Source: SourceLive, CreatedAt: start}
	if st.kmh[1] > 0 {
		km := math.Round((st.kmh[0]+(st.kmh[1]-st.kmh[0])*g.r.Float64())*dur.Hours()*100) / 100
		w.DistanceKM = &km
	}
	hr := g.heartRates(st, start, dur)
	cadence := st.cadence * (0.9 + 0.2*g.r.Float64())
	if start.Before(g.from) || end.After(g.now) {
		return
	}
	avg := 0.0
	for _, sm := range hr {
		avg += sm.Value
	}
	bpm := int(math.Round(avg / float64(len(hr))))
	w.AvgHeartRate = &bpm
	g.workouts = append(g.workouts, w)
	g.samples["heart_rate"] = append(g.samples["heart_rate"], hr...)
	g.emit("calories_burned", seedWatch, end, w.CaloriesBurned)
	g.emit("active_minutes", seedWatch, end, math.Round(dur.Minutes()))
	if w.DistanceKM != nil {
		g.emit("distance_km", seedWatch, end, *w.DistanceKM)
	}
	for t := start; cadence > 0 && t.Before(end); t = t.Add(time.Minute) {
		if i := int(t.Sub(day) / time.Hour); i >= 0 && i < len(g.daySteps) {
			g.daySteps[i] += cadence * min(1, end.Sub(t).Minutes())
		}
	}
}

// heartRates makes up one per minute from start over dur: a warm-up from
// a little above resting to the plateau, the plateau with drift and noise,
// a cool-down of the last minutes.
func (g *seedGen) heartRates(st seedType, start time.Time, dur time.Duration) []Sample {
	n := max(1, int(dur/time.Minute))
	intensity := st.intensity[0] + (st.intensity[1]-st.intensity[0])*g.r.Float64()
	plateau := g.restHR + intensity*(g.maxHR-g.restHR)
	low := g.restHR + 0.35*(plateau-g.restHR)
	warm, cool := min(max(n/8, 1), 8), min(max(n/10, 1), 6)
	if warm+cool > n {
		warm, cool = n/2, 0
	}
	out := make([]Sample, n)
	drift := 0.0
	for i := range out {
		var v float64
		switch {
		case i < warm:
			v = low + (plateau-low)*float64(i+1)/float64(warm+1)
		case i >= n-cool:
			v = plateau - 0.45*(plateau-g.restHR)*float64(i-(n-cool)+1)/float64(cool)
		default:
			drift = seedClamp(drift+0.8*g.r.NormFloat64(), -6, 6)
			v = plateau + drift
			if st.intervals {
				v += 9 * float64(1-2*((i/2)%2))
			}
		}
		v = math.Round(seedClamp(v+2*g.r.NormFloat64(), 40, 220))
		out[i] = Sample{Metric: "heart_rate", Value: v, RecordedAt: start.Add(time.Duration(i) * time.Minute).UTC(), Source: seedWatch}
	}
	return out
}

// emit records a sample made up at at if it lies within [from, now].
func (g *seedGen) emit(metric, source string, at time.Time, value float64) {
	if at.Before(g.from) || at.After(g.now) {
		return
	}
	g.samples[metric] = append(g.samples[metric], Sample{Metric: metric, Value: value, RecordedAt: at.UTC(), Source: source})
}

// sorted returns every sample in the store's order (metric, source, time):
// each metric has one source and its samples were made up in time order.
func (g *seedGen) sorted() []Sample {
	metrics := make([]string, 0, len(g.samples))
	n := 0
	for m, s := range g.samples {
		metrics, n = append(metrics, m), n+len(s)
	}
	slices.Sort(metrics)
	out := make([]Sample, 0, n)
	for _, m := range metrics {
		out = append(out, g.samples[m]...)
	}
	return out
}

func seedClamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

func seedLater(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
