// The seed scenario again, written against @vonage/vcr-sdk 1.3.0: vcr has no
// send helper, so the reply goes out through VonageAPI.invoke.
import { vcr, Voice, Messages, State, VonageAPI } from "@vonage/vcr-sdk";
import { args, report, serve } from "./lib.mjs";

const MARK = args.mark || "compat-seed-vcr";

await serve({
    "/onCall": async (req, call) => {
        const session = vcr.createSession();
        const eventListener = await new Voice(session).onCallEvent({ vapiID: call.uuid, callback: "onEvent" });
        const messageListener = await new Messages(session).onMessage(
            "onMessage",
            { type: "sms", number: call.from },
            { type: "sms", number: call.to }
        );
        report("onCall", { session: session.id, uuid: call.uuid, eventListener, messageListener });
        return [
            { action: "talk", text: `${MARK}: say something after the beep` },
            { action: "input", type: ["speech"], speech: { endOnSilence: 1 } },
        ];
    },
    "/onEvent": async (req, event) => {
        const session = vcr.getSessionFromRequest(req);
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
        const session = vcr.getSessionFromRequest(req);
        report("onMessage", { session: session.id, from: msg.from, text: msg.text });
        const transcript = await new State(session).get("transcript");
        report("transcript", { session: session.id, transcript });
        const sent = await new VonageAPI(session).invoke("https://api.nexmo.com/v1/messages", "POST", {
            message_type: "text",
            channel: "sms",
            to: msg.from,
            from: msg.to,
            text: `You said: ${transcript}`,
        });
        report("sent", { session: session.id, reply: sent });
        return "OK";
    },
});

const session = vcr.createSession();
const answerListener = await new Voice(session).onCall("onCall");
report("ready", { session: session.id, answerListener });
