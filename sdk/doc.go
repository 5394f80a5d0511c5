// Package sdk is the Go SDK for apps on the platform. It speaks the same
// wire protocol as the official JavaScript SDKs (neru-alpha, @vonage/vcr-sdk):
// every call is an HTTP request to the SDK command endpoint, debug-style
// addressed (<endpoint>?func=<provider>.<namespace>), framed as a neru
// Command envelope (or, for state and logs, the body those providers take),
// and the platform calls the app back by POSTing to its routes with the
// x-neru-sessionid header.
//
//	c := sdk.New(sdk.Config{Endpoint: "http://127.0.0.1:3001", InstanceID: "dev",
//		ApplicationID: appID, PrivateKey: os.Getenv("PRIVATE_KEY")})
//	s := c.NewSession()
//	id, err := s.OnMessage(ctx, "/onMessage", sdk.Contact{Type: "sms", Number: caller}, sdk.Contact{Type: "sms"})
//
// In a route handler, c.SessionFromRequest(r) restores the session the
// event belongs to. What the SDK offers:
//
//   - listeners: OnCall, OnCallEvent, OnConversationEvent (Voice API);
//     OnInboundCall, ListenForEvents (Conversation API); OnMessage,
//     OnMessageEvents (Messages API); Unsubscribe;
//   - state: s.State(), c.InstanceState(), c.AccountState(), with the JS
//     SDKs' Redis-like operations and their encoding (values stored as JSON
//     text), so Go and JS apps share state;
//   - Vonage APIs: s.VonageAPI().Invoke / Do (the platform adds the
//     credentials), s.Messages().Send / SendText;
//   - s.Log, shown by `neru logs`.
//
// With Config.PrivateKey the SDK signs the JS SDKs' RS256 JWT (protocol
// §2.2: 300 s, one per client, renewed 20 s early). Without it, calls carry
// no token, which only the dev instance accepts, and only from loopback.
package sdk
