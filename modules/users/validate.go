package users

import (
	"bufio"
	_ "embed"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9_.-]{3,32}$`)
	clockRE    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// The quiet hours of a new account.
const (
	defaultQuietStart = "22:00"
	defaultQuietEnd   = "07:00"
)

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords holds well-known passwords of 10 or more characters,
// lower-cased; shorter ones are already refused by the length rule.
var commonPasswords = func() map[string]struct{} {
	m := map[string]struct{}{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" && !strings.HasPrefix(p, "#") {
			m[strings.ToLower(p)] = struct{}{}
		}
	}
	return m
}()

// Password limits; the upper bound keeps hashing cost bounded.
const (
	minPasswordLen = 10
	maxPasswordLen = 512
)

func validatePassword(v apperr.Validation, field, pw string) {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < minPasswordLen:
		v.Add(field, "must be at least 10 characters")
	case len(pw) > maxPasswordLen:
		v.Add(field, "must be at most 512 bytes")
	default:
		if _, common := commonPasswords[strings.ToLower(pw)]; common {
			v.Add(field, "is one of the most common passwords; choose another")
		}
	}
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validateEmail(v apperr.Validation, field, email string) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@")+1:], ".") {
		v.Add(field, "must be a valid email address")
	}
}

func validateUsername(v apperr.Validation, username string) {
	v.Check(usernameRE.MatchString(username), "username", "must be 3–32 characters of a-z, 0-9, _ . -")
}

func validateTimezone(v apperr.Validation, tz string) {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		v.Add("timezone", "must be an IANA time zone such as Europe/Paris")
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		v.Add("timezone", "must be an IANA time zone such as Europe/Paris")
	}
}

// validateClock checks a time of day written "HH:MM", 00:00 to 23:59.
func validateClock(v apperr.Validation, field, s string) {
	v.Check(clockRE.MatchString(s), field, "must be a time of day from 00:00 to 23:59, like 22:00")
}

func validateRole(v apperr.Validation, role string) {
	v.Check(slices.Contains([]string{auth.RoleCustomer, auth.RoleInstructor, auth.RoleAdmin}, role),
		"role", "must be customer, instructor or admin")
}

func validateText(v apperr.Validation, field, s string, max int) {
	v.Check(utf8.ValidString(s) && utf8.RuneCountInString(s) <= max, field,
		"must be valid text of at most "+strconv.Itoa(max)+" characters")
}
