package activity

import (
	"math"
	"slices"
)

// WorkoutType is one entry of the workout catalog. MET values come from the
// 2011 Compendium of Physical Activities (Ainsworth et al.), the code given
// for each so it can be checked.
type WorkoutType struct {
	Type       string  `json:"workout_type"`
	Name       string  `json:"name"`
	MET        float64 `json:"met"`
	Compendium string  `json:"compendium_code"`
}

// WorkoutTypes is the catalog served by GET /workout-types.
var WorkoutTypes = []WorkoutType{
	{"running", "Running, general", 9.8, "12150"},
	{"cycling", "Bicycling, general", 7.5, "01015"},
	{"swimming", "Swimming laps, freestyle, moderate", 5.8, "18310"},
	{"walking", "Walking, 3.0 mph, moderate pace", 3.5, "17190"},
	{"hiking", "Hiking, cross country", 6.0, "17080"},
	{"strength", "Resistance training, multiple exercises, 8-15 reps", 3.5, "02054"},
	{"yoga", "Yoga, Hatha", 2.5, "02150"},
	{"pilates", "Pilates, general", 3.0, "02105"},
	{"hiit", "Calisthenics, vigorous (circuit training)", 8.0, "02020"},
	{"rowing", "Rowing, stationary, moderate", 7.0, "02072"},
	{"elliptical", "Elliptical trainer, moderate effort", 5.0, "02048"},
	{"dancing", "Aerobic dance, general", 7.3, "03015"},
	{"stretching", "Stretching, mild", 2.3, "02101"},
	{"other", "Conditioning exercise, general", 4.0, "02040"},
}

func workoutType(t string) (WorkoutType, bool) {
	i := slices.IndexFunc(WorkoutTypes, func(w WorkoutType) bool { return w.Type == t })
	if i < 0 {
		return WorkoutType{}, false
	}
	return WorkoutTypes[i], true
}

func workoutTypeNames() []string {
	out := make([]string, len(WorkoutTypes))
	for i, w := range WorkoutTypes {
		out[i] = w.Type
	}
	return out
}

// DefaultWeightKG is used for calories when the user's weight is unknown
// (the answer then says calories_estimated: true).
const DefaultWeightKG = 70.0

// Calories is MET × weight_kg × hours in kcal, rounded to one decimal.
func Calories(met, weightKG float64, seconds int64) float64 {
	return math.Round(met*weightKG*float64(seconds)/3600*10) / 10
}

// Aggregations of a metric's samples within a bucket.
const (
	AggSum     = "sum"     // steps in a day: the total
	AggAverage = "average" // heart rate in a day: the mean
)

// Metric describes one health metric: its unit, valid range and how its
// samples combine.
type Metric struct {
	Name        string  `json:"metric"`
	Unit        string  `json:"unit"`
	Min         float64 `json:"min"`
	Max         float64 `json:"max"`
	Aggregation string  `json:"aggregation"`
}

// Metrics are the health metrics samples may carry.
var Metrics = []Metric{
	{"steps", "count", 0, 100_000, AggSum},
	{"calories_burned", "kcal", 0, 20_000, AggSum},
	{"heart_rate", "bpm", 20, 250, AggAverage},
	{"distance_km", "km", 0, 1_000, AggSum},
	{"active_minutes", "min", 0, 1_440, AggSum},
	{"weight_kg", "kg", 20, 500, AggAverage},
	{"sleep_minutes", "min", 0, 1_440, AggSum},
}

func metricByName(name string) (Metric, bool) {
	i := slices.IndexFunc(Metrics, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, false
	}
	return Metrics[i], true
}

func metricNames() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Name
	}
	return out
}
