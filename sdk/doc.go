// Package sdk is the Go SDK for apps on the platform. It speaks the same
// wire protocol as the official JavaScript SDKs (neru-alpha, @vonage/vcr-sdk):
// every call is an HTTP request to the SDK command endpoint, framed as a
// neru Command envelope, and the platform calls the app back by POSTing to
// its routes with the x-neru-sessionid header.
//
//	c := sdk.New(sdk.Config{Endpoint: "http://127.0.0.1:3001", InstanceID: "dev"})
//	s := c.NewSession()
//	id, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: caller}, sdk.Contact{Type: "sms"})
//
// In a route handler, c.SessionFromRequest(r) restores the session the
// event belongs to.
package sdk
