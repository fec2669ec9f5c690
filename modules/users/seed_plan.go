package users

import (
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fitloop/fitloop/platform/auth"
)

// seedAccount is what Seed decided about one account, before it has an id
// or a name: every choice comes from the caller's random source, in a fixed
// order, so the same seed gives the same accounts.
type seedAccount struct {
	role, timezone, units, displayName string
	quietStart, quietEnd               string
	signup                             time.Time
	optIn                              bool
	bio                                *seedBio // nil: no biometrics
	goals                              []seedGoal
}

// seedBio is a seeded account's biometrics, measured once.
type seedBio struct {
	heightCM, weightKG float64
	birth              time.Time
	sex                string
	measuredAt         time.Time
}

// seedGoal is one goal of a seeded account.
type seedGoal struct {
	goalType, period string
	target           float64
	targetDate       time.Time // a date, at UTC midnight like a parsed one
	createdAt        time.Time
}

// weighted is a choice and how often it comes up relative to the others.
type weighted[T any] struct {
	v T
	w int
}

// pick draws one value of choices, each as often as its weight says.
func pick[T any](r *rand.Rand, choices []weighted[T]) T {
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n -= c.w; n < 0 {
			return c.v
		}
	}
	return choices[len(choices)-1].v
}

// seedZones are where seeded users live, weighted roughly by where a
// fitness app's users are; they include the half- and quarter-hour offsets
// (Kolkata, Kathmandu, Tehran, Adelaide, St John's) that break code assuming
// whole-hour zones.
var seedZones = []weighted[string]{
	{"America/New_York", 10}, {"America/Chicago", 6}, {"America/Denver", 3}, {"America/Los_Angeles", 8},
	{"America/Phoenix", 1}, {"America/Toronto", 3}, {"America/Mexico_City", 3}, {"America/Sao_Paulo", 4},
	{"America/Argentina/Buenos_Aires", 2}, {"America/St_Johns", 1},
	{"Europe/London", 8}, {"Europe/Dublin", 1}, {"Europe/Paris", 6}, {"Europe/Berlin", 6}, {"Europe/Madrid", 3},
	{"Europe/Rome", 3}, {"Europe/Amsterdam", 2}, {"Europe/Stockholm", 2}, {"Europe/Warsaw", 2}, {"Europe/Istanbul", 2},
	{"Africa/Lagos", 2}, {"Africa/Nairobi", 1}, {"Africa/Johannesburg", 2},
	{"Asia/Dubai", 2}, {"Asia/Tehran", 1}, {"Asia/Kolkata", 6}, {"Asia/Kathmandu", 1}, {"Asia/Singapore", 2},
	{"Asia/Shanghai", 3}, {"Asia/Tokyo", 3}, {"Asia/Seoul", 2},
	{"Australia/Sydney", 3}, {"Australia/Adelaide", 1}, {"Pacific/Auckland", 1}, {"UTC", 2},
}

// usZones are the seed zones whose users mostly prefer imperial units.
var usZones = map[string]bool{"America/New_York": true, "America/Chicago": true, "America/Denver": true,
	"America/Los_Angeles": true, "America/Phoenix": true}

var seedFirstNames = strings.Fields(`Ada Alex Amara Ana Arjun Ben Chen Chloe Dara Diego Elif Emma Femi Hana Ines
	Isla Jonas Kai Kenji Lars Layla Leo Lina Luca Maya Mei Nia Noah Omar Priya Rosa Sam Sofia Tariq Theo Uma Yara Zoe`)

// seedQuiet are the quiet hours of users who changed the default
// (22:00–07:00); equal bounds mean none.
var seedQuiet = []weighted[[2]string]{
	{[2]string{defaultQuietStart, defaultQuietEnd}, 70}, {[2]string{"23:00", "07:00"}, 8},
	{[2]string{"22:30", "06:30"}, 8}, {[2]string{"00:00", "08:00"}, 6}, {[2]string{"21:00", "06:00"}, 5},
	{[2]string{"12:00", "12:00"}, 3},
}

// seedGoalKind is a kind of goal and the range its target is drawn from.
type seedGoalKind struct {
	goalType, period string
	lo, hi, step     float64 // weight_kg goals ignore these: their target comes from the weight
}

var seedGoalKinds = []weighted[seedGoalKind]{
	{seedGoalKind{"steps", "daily", 5000, 15000, 500}, 20},
	{seedGoalKind{"steps", "weekly", 40000, 100000, 5000}, 6},
	{seedGoalKind{"steps", "monthly", 150000, 400000, 10000}, 3},
	{seedGoalKind{"calories_burned", "daily", 300, 900, 50}, 6},
	{seedGoalKind{"calories_burned", "weekly", 1500, 5000, 250}, 5},
	{seedGoalKind{"workouts", "weekly", 2, 6, 1}, 14},
	{seedGoalKind{"workouts", "monthly", 8, 20, 1}, 5},
	{seedGoalKind{"workouts", "total", 20, 100, 5}, 3},
	{seedGoalKind{"active_minutes", "daily", 20, 90, 5}, 10},
	{seedGoalKind{"active_minutes", "weekly", 150, 420, 10}, 8},
	{seedGoalKind{"distance_km", "weekly", 10, 60, 2.5}, 6},
	{seedGoalKind{"distance_km", "monthly", 40, 200, 10}, 4},
	{seedGoalKind{"distance_km", "total", 100, 1000, 50}, 3},
	{seedGoalKind{"weight_kg", "total", 0, 0, 0}, 6},
}

// seedGoalCounts is how many goals a seeded user has.
var seedGoalCounts = []weighted[int]{{0, 10}, {1, 30}, {2, 30}, {3, 20}, {4, 10}}

// planSeed decides n accounts signed up over the days before now; zones
// holds every seed zone, loaded.
func planSeed(r *rand.Rand, n, days int, now time.Time, zones map[string]*time.Location) []seedAccount {
	out := make([]seedAccount, n)
	for i := range out {
		out[i] = planAccount(r, days, now, zones)
	}
	return out
}

func planAccount(r *rand.Rand, days int, now time.Time, zones map[string]*time.Location) seedAccount {
	a := seedAccount{role: auth.RoleCustomer, units: "metric"}
	if r.IntN(100) < 8 {
		a.role = auth.RoleInstructor
	}
	a.timezone = pick(r, seedZones)
	imperial := 5
	if usZones[a.timezone] {
		imperial = 85
	}
	if r.IntN(100) < imperial {
		a.units = "imperial"
	}
	a.displayName = seedFirstNames[r.IntN(len(seedFirstNames))] + " " + string(rune('A'+r.IntN(26))) + "."
	q := pick(r, seedQuiet)
	a.quietStart, a.quietEnd = q[0], q[1]
	// Signups grow over time: the density falls linearly from now back to
	// the window's start, so recent days have more of them.
	window := time.Duration(days) * 24 * time.Hour
	ago := time.Duration((1 - math.Sqrt(r.Float64())) * float64(window))
	a.signup = now.Add(-ago).Truncate(time.Second)
	a.optIn = r.IntN(100) < 60
	if r.IntN(100) < 55 {
		a.bio = planBio(r, a.signup, now)
	}
	a.goals = planGoals(r, &a, now.In(zones[a.timezone]))
	return a
}

func planBio(r *rand.Rand, signup, now time.Time) *seedBio {
	b := &seedBio{sex: pick(r, []weighted[string]{{"female", 45}, {"male", 45}, {"other", 3}, {"undisclosed", 7}})}
	mean := map[string]float64{"female": 164, "male": 177}[b.sex]
	if mean == 0 {
		mean = 170
	}
	b.heightCM = roundTo(clamp(mean+r.NormFloat64()*7.5, 140, 210), 0.5)
	bmi := clamp(25+r.NormFloat64()*4, 17, 40)
	b.weightKG = roundTo(clamp(bmi*b.heightCM*b.heightCM/10000, 40, 200), 0.1)
	age := 18 + r.IntN(53)
	b.birth = time.Date(now.Year()-age, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -r.IntN(365))
	b.measuredAt = minTime(signup.Add(time.Duration(r.Int64N(int64(24*time.Hour)))).Truncate(time.Second), now)
	return b
}

// planGoals draws a's goals, no two of one type and period, each set some
// time between the signup and now (in a's zone) with a target date from 30
// days to a year after today, so every goal is still open.
func planGoals(r *rand.Rand, a *seedAccount, now time.Time) []seedGoal {
	n := pick(r, seedGoalCounts)
	var goals []seedGoal
	seen := map[seedGoalKind]bool{}
	for range n * 3 { // a repeated kind is drawn again, a bounded number of times
		if len(goals) == n {
			break
		}
		k := pick(r, seedGoalKinds)
		if seen[k] {
			continue
		}
		seen[k] = true
		g := seedGoal{goalType: k.goalType, period: k.period}
		if k.goalType == "weight_kg" {
			g.target = weightTarget(r, a.bio)
		} else {
			g.target = drawTarget(r, k)
		}
		since := now.Sub(a.signup)
		g.createdAt = a.signup.Add(time.Duration(math.Pow(r.Float64(), 2) * float64(since))).Truncate(time.Second)
		g.targetDate = time.Date(now.Year(), now.Month(), now.Day()+30+r.IntN(336), 0, 0, 0, 0, time.UTC)
		goals = append(goals, g)
	}
	return goals
}

func drawTarget(r *rand.Rand, k seedGoalKind) float64 {
	steps := int((k.hi - k.lo) / k.step)
	return k.lo + float64(r.IntN(steps+1))*k.step
}

// weightTarget is a weight goal: mostly a loss of 2 to 10 kg from the
// user's weight, sometimes a gain; without a known weight, 55 to 90 kg.
func weightTarget(r *rand.Rand, b *seedBio) float64 {
	if b == nil {
		return float64(55 + r.IntN(36))
	}
	delta := -(2 + r.Float64()*8)
	if r.IntN(100) < 15 {
		delta = 2 + r.Float64()*4
	}
	return roundTo(clamp(b.weightKG+delta, 40, 200), 0.5)
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }

// roundTo rounds x to a multiple of step (0.1, 0.5, …); dividing by the
// inverse keeps 72.3 from printing as 72.30000000000001.
func roundTo(x, step float64) float64 {
	inv := 1 / step
	return math.Round(x*inv) / inv
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
