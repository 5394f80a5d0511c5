package sdkapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/neru-dev/neru/instance"
	"github.com/neru-dev/neru/internal/httpx"
	"github.com/neru-dev/neru/state"
)

// statePersistence is the provider name of state (protocol §3.1).
const statePersistence = "client-persistence-api"

func (a *API) stateAdapter() adapter {
	return adapter{name: statePersistence, serve: a.serveState, errors: state.HTTPErrors}
}

// stateTenant is whose keys an instance's state commands touch: the account
// and instance of the instance record, never the namespace or headers the
// client sent. An instance without an account is an account of its own,
// named "instance.<id>"; account ids may not contain '.', so that name can
// never be a real account's.
func stateTenant(in *instance.Instance) state.Tenant {
	acct := in.AccountID
	if acct == "" {
		acct = "instance." + in.ID
	}
	return state.Tenant{AccountID: acct, InstanceID: in.ID}
}

// serveState runs one state command. The body is the command itself, not a
// Command envelope, and the reply is the JSON-encoded Redis reply, exactly
// as the SDKs parse it.
func (a *API) serveState(c echo.Context, in *instance.Instance) error {
	r := c.Request()
	body, err := httpx.ReadBody(r, a.cfg.MaxBody)
	if err != nil {
		return err
	}
	cmd, err := state.DecodeCommand(body)
	if err != nil {
		return err
	}
	reply, err := a.d.State.Exec(r.Context(), stateTenant(in), cmd)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, reply)
}
