// createSession(4) lives 4 s (@vonage/vcr-sdk 1.3.0); same flow as
// ttl-neru.mjs.
import { vcr, State, Messages } from "@vonage/vcr-sdk";
import { args, sessionTTL } from "./lib.mjs";

await sessionTTL({
    create: (ttl) => vcr.createSession(ttl),
    state: (s) => new State(s),
    listen: (s) => new Messages(s).onMessage("onSMS", { type: "sms", number: args.from }, { type: "sms", number: args.to }),
});
