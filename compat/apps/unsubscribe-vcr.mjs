// Unsubscribing stops delivery (@vonage/vcr-sdk 1.3.0, vcr.unsubscribe(id,
// "vonage-messaging"), sent in the global session). Same flow as
// unsubscribe-neru.mjs.
import { vcr, Messages } from "@vonage/vcr-sdk";
import { args, report, serve } from "./lib.mjs";

const session = vcr.createSession();
const messages = new Messages(session);
let idA;

await serve({
    "/onA": async (req, msg) => report("onA", { session: req.headers["x-neru-sessionid"], text: msg.text }),
    "/onB": async (req, msg) => report("onB", { session: req.headers["x-neru-sessionid"], text: msg.text }),
    "/control/unsubscribe": async () => {
        const reply = await vcr.unsubscribe(idA, "vonage-messaging");
        report("unsubscribed", { id: idA, reply });
        return { id: idA, reply };
    },
});

const to = { type: "sms", number: args.to };
idA = await messages.onMessage("onA", { type: "sms", number: args.fromA }, to);
const idB = await messages.onMessage("onB", { type: "sms", number: args.fromB }, to);
report("ready", { session: session.id, idA, idB });
