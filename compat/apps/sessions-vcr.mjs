// Sessions as apps use them (@vonage/vcr-sdk 1.3.0); same flow as
// sessions-neru.mjs.
import { vcr, State, Messages, Scheduler, Queue } from "@vonage/vcr-sdk";
import { sessionsScenario } from "./lib.mjs";

await sessionsScenario({
    byId: (id) => vcr.getSessionById(id),
    create: () => vcr.createSession(),
    global: () => vcr.getGlobalSession(),
    state: (s) => new State(s),
    listen: (s, route, from, to) => new Messages(s).onMessage(route, { type: "sms", number: from }, { type: "sms", number: to }),
    schedule: (s, route, startAt, payload) => new Scheduler(s).startAt({ startAt, callback: route, payload }),
    createQueue: (s, name, route) => new Queue(s).createQueue(name, route, { maxInflight: 1, msgPerSecond: 100, active: true }),
    enqueue: (s, name, items) => new Queue(s).enqueue(name, items),
});
