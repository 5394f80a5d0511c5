// The NeRu seed scenario, written against neru-alpha 5.1.0 as an app would:
// an inbound call opens a session that listens for the call's events and for
// SMS from the caller; the caller's speech is kept in session state; a later
// SMS from the caller gets the transcript back through vonage-api.
import { neru, Voice, Messages, State } from "neru-alpha";
import { args, report, serve } from "./lib.mjs";

const MARK = args.mark || "compat-seed-neru";

await serve({
    "/onCall": async (req, call) => {
        const session = neru.createSession();
        const voice = new Voice(session);
        const eventListener = await voice.onVapiEvent({ vapiUUID: call.uuid, callback: "onEvent" }).execute();
        const messageListener = await new Messages(session)
            .onMessage("onMessage", { type: "sms", number: call.from }, { type: "sms", number: call.to })
            .execute();
        report("onCall", { session: session.id, uuid: call.uuid, eventListener, messageListener });
        return [
            { action: "talk", text: `${MARK}: say something after the beep` },
            { action: "input", type: ["speech"], speech: { endOnSilence: 1 } },
        ];
    },
    "/onEvent": async (req, event) => {
        const session = neru.getSessionFromRequest(req);
        const text = event && event.speech && event.speech.results && event.speech.results[0] && event.speech.results[0].text;
        if (text === undefined) {
            report("onEvent", { session: session.id, status: event && event.status });
            return "OK";
        }
        const stored = await new State(session).set("transcript", text);
        report("onEvent", { session: session.id, text, stored });
        return [{ action: "talk", text: `${MARK}: thanks, we will text you what you said` }];
    },
    "/onMessage": async (req, msg) => {
        const session = neru.getSessionFromRequest(req);
        report("onMessage", { session: session.id, from: msg.from, text: msg.text });
        const transcript = await new State(session).get("transcript");
        report("transcript", { session: session.id, transcript });
        const sent = await new Messages(session)
            .send({ message_type: "text", channel: "sms", to: msg.from, from: msg.to, text: `You said: ${transcript}` })
            .execute();
        report("sent", { session: session.id, reply: sent });
        return "OK";
    },
});

// At every start, as the samples do: a new session listens for inbound calls.
const session = neru.createSession();
const answerListener = await new Voice(session).onVapiAnswer("onCall").execute();
report("ready", { session: session.id, answerListener });
