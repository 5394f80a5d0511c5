// createSession(4) lives 4 s (neru-alpha 5.1.0), at the second of the minute
// apps/clock.cjs gives the SDK's clock; then the ended session refuses
// state.get and a listener registration. See lib.mjs sessionTTL.
import { neru, State, Messages } from "neru-alpha";
import { args, sessionTTL } from "./lib.mjs";

await sessionTTL({
    create: (ttl) => neru.createSession(ttl),
    state: (s) => new State(s),
    listen: (s) => new Messages(s).onMessage("onSMS", { type: "sms", number: args.from }, { type: "sms", number: args.to }).execute(),
});
