package users

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/fitloop/fitloop/platform/apperr"
	"github.com/fitloop/fitloop/platform/auth"
)

// AdminCommand runs `fitloop admin create-user --email E --username U
// [--password P] [--role R]`, how a fresh install gets its first admin: the
// password is read from stdin when not given, the role defaults to admin.
// Mistakes in the arguments and refusals (a taken email, a weak password)
// are apperr Invalid or Conflict errors with a message for the terminal.
func AdminCommand(ctx context.Context, svc Service, args []string, stdin io.Reader, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] != "create-user" {
		return apperr.E(apperr.Invalid, "usage",
			"usage: fitloop admin create-user --email E --username U [--password P] [--role admin]")
	}
	args = args[1:]
	fs := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	fs.SetOutput(errOut)
	email := fs.String("email", "", "email address")
	username := fs.String("username", "", "username")
	password := fs.String("password", "", "password (read from stdin when empty)")
	role := fs.String("role", auth.RoleAdmin, "customer, instructor or admin")
	if err := fs.Parse(args); err != nil {
		return apperr.E(apperr.Invalid, "usage", err.Error())
	}
	if *password == "" {
		b, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return err
		}
		*password = strings.TrimRight(string(b), "\r\n")
	}
	system := auth.WithPrincipal(ctx, &auth.Principal{UserID: "system", Role: auth.RoleAdmin, SessionID: "cli"})
	acct, err := svc.Register(system, RegisterInput{Username: *username, Email: *email, Password: *password, Role: *role})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "created %s %s (%s) id=%s\n", acct.Role, acct.Username, acct.Email, acct.UserID)
	return nil
}

// SeedUsage is how `fitloop dev seed` is called.
const SeedUsage = "usage: fitloop dev seed --users N --days D [--seed S]"

// SeedArgs parses `fitloop dev seed --users N --days D [--seed S]` into
// the options of Seed (and of the other modules' seeding): the same seed
// makes the same data. Mistakes are an apperr Invalid with the usage.
func SeedArgs(args []string) (SeedOptions, error) {
	if len(args) == 0 || args[0] != "seed" {
		return SeedOptions{}, apperr.E(apperr.Invalid, "usage", SeedUsage)
	}
	fs := flag.NewFlagSet("dev seed", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("users", 100, "accounts to create")
	days := fs.Int("days", 90, "days of activity before now")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return SeedOptions{}, apperr.E(apperr.Invalid, "usage", SeedUsage)
	}
	if *n < 1 || *days < 1 {
		return SeedOptions{}, apperr.E(apperr.Invalid, "usage", SeedUsage+" (N and D at least 1)")
	}
	return SeedOptions{Users: *n, Days: *days, Rand: rand.New(rand.NewPCG(*seed, *seed^0x5eed))}, nil
}
