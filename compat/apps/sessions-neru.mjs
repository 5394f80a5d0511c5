// Sessions as apps use them (neru-alpha 5.1.0); the flow is in lib.mjs
// sessionsScenario, this file only says how neru spells each call.
import { neru, State, Messages, Scheduler, Queue } from "neru-alpha";
import { sessionsScenario } from "./lib.mjs";

await sessionsScenario({
    byId: (id) => neru.getSessionById(id),
    create: () => neru.createSession(),
    global: () => neru.getGlobalSession(),
    state: (s) => new State(s),
    listen: (s, route, from, to) => new Messages(s).onMessage(route, { type: "sms", number: from }, { type: "sms", number: to }).execute(),
    schedule: (s, route, startAt, payload) => new Scheduler(s).startAt({ startAt, callback: route, payload }).execute(),
    createQueue: (s, name, route) => new Queue(s).createQueue(name, route, { maxInflight: 1, msgPerSecond: 100, active: true }).execute(),
    enqueue: (s, name, items) => new Queue(s).enqueue(name, items).execute(),
});
