// Unsubscribing stops delivery (neru-alpha 5.1.0, messages.unsubscribeEvents).
// Two SMS listeners share one session: "onA" for SMS from args.fromA and the
// sentinel "onB" for SMS from args.fromB. The test proves onA works, asks the
// app (POST /control/unsubscribe) to unsubscribe it, then sends an SMS from A
// followed by one from B: deliveries are FIFO per session, so once B has
// arrived, A would have arrived too had it still been subscribed.
import { neru, Messages } from "neru-alpha";
import { args, report, serve } from "./lib.mjs";

const session = neru.createSession();
const messages = new Messages(session);
let idA;

await serve({
    "/onA": async (req, msg) => report("onA", { session: req.headers["x-neru-sessionid"], text: msg.text }),
    "/onB": async (req, msg) => report("onB", { session: req.headers["x-neru-sessionid"], text: msg.text }),
    "/control/unsubscribe": async () => {
        const reply = await messages.unsubscribeEvents(idA).execute();
        report("unsubscribed", { id: idA, reply });
        return { id: idA, reply };
    },
});

const to = { type: "sms", number: args.to };
idA = await messages.onMessage("onA", { type: "sms", number: args.fromA }, to).execute();
const idB = await messages.onMessage("onB", { type: "sms", number: args.fromB }, to).execute();
report("ready", { session: session.id, idA, idB });
