package etl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// The warehouse's rows, as gorm maps them.

type dimUser struct {
	UserKey          string `gorm:"primaryKey"`
	Role             string
	SignupDate       int
	Timezone         string
	LeaderboardOptIn bool
	ChangedAt        time.Time
}

func (dimUser) TableName() string { return "dim_user" }

type dimDate struct {
	DateKey   int `gorm:"primaryKey"`
	Day       string
	Year      int
	Quarter   int
	Month     int
	IsoYear   int
	IsoWeek   int
	DayOfWeek int // 1 Monday … 7 Sunday
	IsWeekend bool
}

func (dimDate) TableName() string { return "dim_date" }

type dimWorkoutType struct {
	WorkoutType string `gorm:"primaryKey"`
}

func (dimWorkoutType) TableName() string { return "dim_workout_type" }

type factWorkout struct {
	WorkoutID      string `gorm:"primaryKey"`
	UserKey        string
	DateKey        int
	WorkoutType    string
	StartTime      time.Time
	EndTime        *time.Time
	DurationS      int64
	CaloriesBurned float64
	DistanceKM     *float64 `gorm:"column:distance_km"`
	AvgHeartRate   *int
	Source         string
	ChangedAt      time.Time
}

func (factWorkout) TableName() string { return "fact_workouts" }

type watermarkRow struct {
	Source    string `gorm:"primaryKey"`
	ChangedAt time.Time
	ID        string
	// UpdatedAt is when the load that last moved the watermark (or read
	// the feed to its end) began reading the feed: the next load's lag
	// window starts no earlier than a lag before it.
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (watermarkRow) TableName() string { return "etl_watermarks" }

type erasedUser struct {
	UserKey  string `gorm:"primaryKey"`
	ErasedAt time.Time
}

func (erasedUser) TableName() string { return "etl_erased_users" }

type dimGoal struct {
	GoalID          string `gorm:"primaryKey"`
	UserKey         string
	GoalType        string
	Period          string
	Target          float64
	TargetDate      *int
	Status          string
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	ChangedAt       time.Time
	SnapshotThrough *int
}

func (dimGoal) TableName() string { return "dim_goal" }

// userTables hold a user's rows by their key; an erased user's rows leave
// them all.
var userTables = []string{"fact_workouts", "fact_daily_metrics", "fact_goal_progress", "fact_group_sessions",
	"stage_metric_days", "dim_goal", "etl_dirty_users"}

// pseudonym is a user's warehouse key: the first 128 bits of an HMAC-SHA256
// of their id, in hex. Without the key, the warehouse cannot be joined back
// to accounts; with it, the analytics routes find the caller's own rows.
func pseudonym(key []byte, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// dateKey is t's day as yyyymmdd.
func dateKey(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// dateRow describes the day of t (in t's location).
func dateRow(t time.Time) dimDate {
	y, w := t.ISOWeek()
	dow := int(t.Weekday())
	if dow == 0 {
		dow = 7
	}
	return dimDate{DateKey: dateKey(t), Day: t.Format(time.DateOnly), Year: t.Year(), Quarter: (int(t.Month())-1)/3 + 1,
		Month: int(t.Month()), IsoYear: y, IsoWeek: w, DayOfWeek: dow, IsWeekend: dow >= 6}
}

// locations caches the zones zoneOf has loaded: time.LoadLocation reads
// and parses the zone's file each time.
var locations sync.Map // name → *time.Location

// zoneOf is the named zone, or UTC when the name is unknown.
func zoneOf(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(name, loc)
	return loc
}

// inZone is t in the named zone, or in UTC when the name is unknown.
func inZone(t time.Time, zone string) time.Time { return t.In(zoneOf(zone)) }
