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
//   - many listeners at once: each On* method has a *Subscription twin
//     (s.MessageSubscription and so on) that builds the listener without
//     registering it, and c.Subscribe(ctx, subs...) registers them with
//     one subscribe-many request per MaxSubscriptions (1,000) listeners of
//     a provider instead of one request each, every listener in its own
//     session; each request is all or nothing (see below);
//   - state: s.State(), c.InstanceState(), c.AccountState(), with the JS
//     SDKs' Redis-like operations and their encoding (values stored as JSON
//     text), so Go and JS apps share state;
//   - Vonage APIs: s.VonageAPI().Invoke / Do (the platform adds the
//     credentials), s.Messages().Send / SendText;
//   - s.Log, shown by `neru logs`.
//
// An app registering thousands of numbers at start registers them in
// batches, not with one request each (several Subscribe calls at once keep
// more requests in flight):
//
//	subs := make([]sdk.Subscription, 0, len(customers))
//	for _, cu := range customers {
//		subs = append(subs, c.Session(cu.SessionID).MessageSubscription("/onMessage",
//			sdk.Contact{Type: "sms", Number: cu.Number}, sdk.Contact{Type: "sms", Number: myNumber}))
//	}
//	ids, err := c.Subscribe(ctx, subs...)
//
// With Config.PrivateKey the SDK signs the JS SDKs' RS256 JWT (protocol
// §2.2: 300 s, one per client, renewed 20 s early). Without it, calls carry
// no token, which only the dev instance accepts, and only from loopback.
package sdk
