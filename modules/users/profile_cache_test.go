package users_test

import (
	"net/http"
	"testing"

	"github.com/fitloop/fitloop/modules/users"
	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/database/dbtest"
	"github.com/fitloop/fitloop/platform/testkit"
)

func TestPublicProfileCache(t *testing.T) {
	t.Parallel()
	e := newEnvOn(t, dbtest.New(t), func(d *users.Deps) { d.Cache = cache.NewMemory() })
	u, other, admin := e.newUser(t, "cached"), e.newUser(t, "reader"), e.newAdmin(t)
	me := api + "/users/" + u.ID
	read := func(name string, status int, want ...string) testkit.Scenario {
		return testkit.Scenario{Name: name, Method: http.MethodGet, URL: me, Token: other.Token,
			ExpectedStatus: status, ExpectedContent: want, NotExpectedContent: []string{`"email"`}}
	}
	e.run(t,
		read("fills_the_cache", http.StatusOK, `"display_name":""`),
		testkit.Scenario{Name: "changes_the_name", Method: http.MethodPut, URL: me, Token: u.Token,
			Body: map[string]string{"display_name": "Coach Kim"}, ExpectedStatus: http.StatusOK},
		read("shows_the_new_name_at_once", http.StatusOK, `"display_name":"Coach Kim"`),
		testkit.Scenario{Name: "an_admin_disables_the_account", Method: http.MethodPut, URL: api + "/admin/users/" + u.ID,
			Token: admin.Token, Body: map[string]bool{"disabled": true}, ExpectedStatus: http.StatusOK},
		read("hides_the_disabled_account_at_once", http.StatusNotFound),
	)
}
