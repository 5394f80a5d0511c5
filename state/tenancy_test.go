package state

import (
	"errors"
	"testing"
)

// TestTenancy: tenants that send the same namespaces never see each other's
// keys. Two instances of one account share only the account state.
func TestTenancy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	namespaces := []string{"application:x", "account", "state:S", "state:" + globalSession, "my-ns"}
	tenants := map[string]Tenant{"A": tenantA, "B": tenantB}
	for name, tn := range tenants {
		for _, ns := range namespaces {
			e.exec(tn, "SET", ns, "k", `["\"`+name+`\""]`)
		}
	}
	for name, tn := range tenants {
		for _, ns := range namespaces {
			if got, want := e.exec(tn, "GET", ns, "k", `[]`), `"\"`+name+`\""`; got != want {
				t.Errorf("%s GET %s = %s, want %s", name, ns, got, want)
			}
		}
	}
	sibling := Tenant{AccountID: tenantA.AccountID, InstanceID: "inst-a2"}
	for _, ns := range namespaces {
		want := `null`
		if ns == "account" {
			want = `"\"A\""`
		}
		if got := e.exec(sibling, "GET", ns, "k", `[]`); got != want {
			t.Errorf("A's sibling instance GET %s = %s, want %s", ns, got, want)
		}
	}
}

// TestApplicationClaimIgnored: the id in application:<id> is the client's
// claim. Naming another instance reaches one's own state.
func TestApplicationClaimIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.exec(tenantB, "SET", "application:inst-b", "k", `["\"B's secret\""]`)
	if got := e.exec(tenantA, "GET", "application:inst-b", "k", `[]`); got != `null` {
		t.Errorf("A reading application:inst-b got %s, want its own (empty) state", got)
	}
	e.exec(tenantA, "SET", "application:inst-b", "k", `["\"A\""]`)
	if got := e.exec(tenantA, "GET", "application:anything", "k", `[]`); got != `"\"A\""` {
		t.Errorf("A's instance state = %s, want \"A\"", got)
	}
	if got := e.exec(tenantB, "GET", "application:inst-b", "k", `[]`); got != `"\"B's secret\""` {
		t.Errorf("B's instance state = %s, changed by A", got)
	}
}

// TestKeyLayout pins the Redis key of each namespace (doc.go). Client-chosen
// parts are escaped so that a tag cannot be closed early.
func TestKeyLayout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct{ ns, key, redisKey string }{
		{"state:S1", "k", "st:{inst-a:s:S1}:k"},
		{"application:whatever", "k", "st:{inst-a:app}:k"},
		{"account", "k", "st:{acct:acc-a}:k"},
		{"my-ns", "k", "st:{inst-a:ns:my-ns}:k"},
		{"application", "k", "st:{inst-a:ns:application}:k"},
		{"x}:y", "k", "st:{inst-a:ns:x%7D:y}:k"},
		{"state:a}:x", "y", "st:{inst-a:s:a%7D:x}:y"},
		{"state:a", "x}:y", "st:{inst-a:s:a}:x}:y"},
		{"state:%7D", "k", "st:{inst-a:s:%257D}:k"},
	}
	for _, c := range cases {
		e.exec(tenantA, "SET", c.ns, c.key, `["\"`+c.ns+`\""]`)
	}
	for _, c := range cases {
		got, err := e.rdb.Get(e.ctx, e.prefix+c.redisKey).Result()
		if err != nil || got != `"`+c.ns+`"` {
			t.Errorf("%s %s: Redis key %s holds %q (%v), want %q", c.ns, c.key, c.redisKey, got, err, `"`+c.ns+`"`)
		}
	}
	if n := e.rdb.Exists(e.ctx, e.prefix+"st:{inst-a:s:S1}__keys").Val(); n != 1 {
		t.Errorf("session registry missing")
	}
}

// TestBadTenant: a tenant the key layout cannot keep apart is a server fault,
// not a client error.
func TestBadTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		tn Tenant
		ns string
	}{
		{Tenant{AccountID: "a"}, "application:x"},
		{Tenant{InstanceID: "i"}, "account"},
		{Tenant{AccountID: "a", InstanceID: "i:s:x"}, "state:y"},
		{Tenant{AccountID: "a", InstanceID: "i}"}, "my-ns"},
		{Tenant{AccountID: "a{b}", InstanceID: "i"}, "account"},
		{Tenant{AccountID: "a", InstanceID: "acct"}, "application:x"},
	} {
		err := e.execErr(c.tn, "SET", c.ns, "k", `["1"]`)
		if isClientErr(err) {
			t.Errorf("%+v %s: %v is a client error, want a server fault", c.tn, c.ns, err)
		}
	}
	if got := e.snapshot(); len(got) != 0 {
		t.Errorf("bad tenants wrote %v", got)
	}
	if err := e.store.DeleteSession(e.ctx, "i:x", "s"); err == nil || errors.Is(err, ErrBadArgs) {
		t.Errorf("DeleteSession with a bad instance id: %v", err)
	}
}
