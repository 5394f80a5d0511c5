// Helpers shared by the compatibility apps. They contain no SDK code: each app
// imports the real, unmodified SDK from node_modules.
//
// Protocol with the Go test (compat/node_test.go):
//   * every line an app writes to stdout is one JSON object with an "event"
//     field ("ready", "error", "summary", or a route's name); the test reads
//     them as they come and never parses anything else;
//   * the app's HTTP port is PORT (also NERU_APP_PORT / VCR_PORT, as the
//     platform injects them); per-test parameters come as JSON in COMPAT_ARGS;
//   * the app exits when its stdin closes, so it never outlives the test.
import http from "node:http";

export const args = JSON.parse(process.env.COMPAT_ARGS || "{}");

export function report(event, fields = {}) {
    process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

// errText describes an error the SDK threw, with the platform's reply when
// there was one, so a failing test says which provider refused what.
export function errText(e) {
    if (!e) return String(e);
    let s = `${e.name || "Error"}: ${e.message}`;
    const r = e.response;
    if (r) {
        const body = typeof r.data === "string" ? r.data : JSON.stringify(r.data);
        s += ` (HTTP ${r.status} from ${r.config && r.config.url}: ${String(body).slice(0, 300)})`;
    }
    return s;
}

// The parent closing our stdin (test over, or test process gone) ends us.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();

function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            if (raw === "") return resolve(undefined);
            try {
                resolve(JSON.parse(raw));
            } catch (e) {
                reject(new Error("request body is not JSON: " + raw.slice(0, 200)));
            }
        });
        req.on("error", reject);
    });
}

// serve starts the app's HTTP server on PORT. routes maps a path to
// async (req, body) => reply; the reply is sent as JSON with status 200. A
// route that throws is reported as {"event":"error"} and answered 500, which
// the platform retries. GET /_/health answers 200 (the readiness probe the
// VCR samples implement).
export function serve(routes) {
    const port = Number(process.env.PORT);
    if (!port) throw new Error("PORT is not set");
    const server = http.createServer(async (req, res) => {
        const path = req.url.split("?")[0];
        if (req.method === "GET" && path === "/_/health") {
            res.writeHead(200, { "Content-Type": "application/json" });
            return res.end('"OK"');
        }
        const route = routes[path];
        if (!route || req.method !== "POST") {
            report("error", { route: path, error: `no route ${req.method} ${path}` });
            res.writeHead(404);
            return res.end();
        }
        try {
            const body = await readBody(req);
            const reply = await route(req, body);
            res.writeHead(200, { "Content-Type": "application/json" });
            res.end(JSON.stringify(reply === undefined ? "OK" : reply));
        } catch (e) {
            report("error", { route: path, error: errText(e) });
            res.writeHead(500, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ error: String(e && e.message) }));
        }
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve(server));
    });
}

// Checks for the state scripts: each records name, got, want and ok; the
// script prints them all in one "summary" line and exits 0, so the Go test
// reports every failing operation, not only the first.
export function checker() {
    const checks = [];
    const run = async (name, fn, want, opts = {}) => {
        try {
            const got = await fn();
            const ok = opts.match ? opts.match(got) : same(got, want);
            checks.push({ name, ok, got: got === undefined ? "<undefined>" : got, want: opts.wantText || want });
            return got;
        } catch (e) {
            const status = e && e.response && e.response.status;
            if (opts.allowStatus && opts.allowStatus(status)) {
                checks.push({ name, ok: true, got: `rejected with HTTP ${status}`, want: opts.wantText || want, note: errText(e) });
            } else {
                checks.push({ name, ok: false, want: opts.wantText || want, error: errText(e) });
            }
            return undefined;
        }
    };
    const summary = (sdk) => {
        report("summary", { sdk, checks });
        // Let the SDK's background telemetry (logs, session_created) finish
        // before exiting: a failed one would crash the process, which the
        // test must see.
        setTimeout(() => process.exit(0), 300);
    };
    return { run, summary, checks };
}

// same is deep equality of JSON values.
export function same(a, b) {
    return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function canon(v) {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === "object") {
        const out = {};
        for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
        return out;
    }
    return v;
}

// num matches a Redis integer reply that the SDK passes through as-is: the
// protocol allows a JSON number or a numeric string (wire protocol §10).
export const num = (n) => ({ match: (got) => (typeof got === "number" || typeof got === "string") && Number(got) === n, wantText: `${n} (number or numeric string)` });

// unordered matches an array with the same elements in any order.
export const unordered = (want) => ({
    match: (got) => Array.isArray(got) && same([...got].map((x) => JSON.stringify(x)).sort(), [...want].map((x) => JSON.stringify(x)).sort()),
    wantText: { anyOrder: want },
});

// scan matches an HSCAN reply: cursor "0" (a small hash is scanned in one
// call) and the given field/value pairs in any order.
export const scan = (pairs) => ({
    match: (got) => {
        if (!Array.isArray(got) || got.length !== 2 || String(got[0]) !== "0" || !Array.isArray(got[1])) return false;
        const p = [];
        for (let i = 0; i + 1 < got[1].length; i += 2) p.push(got[1][i] + "=" + got[1][i + 1]);
        const w = [];
        for (let i = 0; i + 1 < pairs.length; i += 2) w.push(pairs[i] + "=" + pairs[i + 1]);
        return same(p.sort(), w.sort());
    },
    wantText: ["0", { anyOrder: pairs }],
});

// refusal describes what an SDK call threw at the app: the message the app
// sees and the platform's reply the SDK kept (both SDKs re-throw axios'
// error, with .response).
function refusal(e) {
    const r = e && e.response;
    return { message: String(e && e.message), status: r && r.status, data: r && r.data };
}

// sessionTTL is the TTL scenario of ttl-*.mjs: createSession(args.ttl), a
// state.set, then state.get every 50 ms until it throws. It reports
// "created" (session id, the SDK clock at createSession), then "expired"
// with the real time (performance.now, which clock.cjs leaves alone) from
// createSession to the first refusal and its real Unix time, and what the
// refusal looked like; then
// "listenAfterExpiry" with what a listener registration in the ended
// session did. Gives up after args.limitMs.
export async function sessionTTL({ create, state, listen }) {
    if (globalThis.compatClockStart) globalThis.compatClockStart();
    const t0 = performance.now();
    const sdkClock = new Date().toISOString();
    const session = create(args.ttl);
    report("created", { session: session.id, sdkClock });
    const st = state(session);
    await st.set("k", "v");
    for (;;) {
        let got;
        try {
            got = await st.get("k");
        } catch (e) {
            const now = performance.now();
            report("expired", { session: session.id, sdkClock, elapsedMs: now - t0, atUnixMs: performance.timeOrigin + now, ...refusal(e) });
            break;
        }
        if (got !== "v") {
            report("error", { route: "state.get", error: `state.get returned ${JSON.stringify(got)} ${performance.now() - t0} ms after createSession, before the session refused it; want "v"` });
            return;
        }
        if (performance.now() - t0 > args.limitMs) {
            report("error", { route: "state.get", error: `the session still answered after ${args.limitMs} ms` });
            return;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    try {
        const id = await listen(session);
        report("listenAfterExpiry", { threw: false, id });
    } catch (e) {
        report("listenAfterExpiry", { threw: true, ...refusal(e) });
    }
}

// sessionsScenario is the flow of sessions-*.mjs, with sdk saying how the
// SDK spells each call.
//
//   * A session named args.longId (spaces, braces, 1,000 characters) by
//     getSessionById: a state round trip (reported as "longState") and an
//     SMS listener on /onLong that reports the delivery's x-neru-sessionid.
//   * A session "doomed" (createSession) with a schedule due in
//     args.doomedInMs on /onDoomedSchedule and a queue whose first item is
//     held by the app (/onDoomedQueue answers it only when the test POSTs
//     /control/release) while the rest wait behind it. The test deletes the
//     session with the admin API while the first item is held.
//   * Sentinels in the global session: a schedule due after the doomed one
//     (/onSentinelSchedule) and, once released, a queue item
//     (/onSentinelQueue). When they have arrived, the doomed ones would
//     have arrived too.
export async function sessionsScenario(sdk) {
    let release;
    const released = new Promise((r) => (release = r));
    const header = (req) => req.headers["x-neru-sessionid"];
    const doomed = sdk.create();
    const global = sdk.global();
    await serve({
        "/onLong": async (req, msg) => report("onLong", { session: header(req), text: msg.text }),
        "/onDoomedSchedule": async (req) => report("doomedSchedule", { session: header(req) }),
        "/onSentinelSchedule": async (req) => report("sentinelSchedule", { session: header(req) }),
        "/onDoomedQueue": async (req, item) => {
            if (item && item.n === "first") {
                report("queueFirst", { session: header(req) });
                await released;
                return;
            }
            report("doomedQueue", { session: header(req), item });
        },
        "/onSentinelQueue": async (req, item) => report("sentinelQueue", { session: header(req), item }),
        "/control/release": async () => {
            release();
            // After the doomed session's end: state.get in it is refused.
            let after;
            try {
                after = { threw: false, got: await sdk.state(doomed).get("k") };
            } catch (e) {
                after = { threw: true, ...refusal(e) };
            }
            report("doomedStateAfterDelete", after);
            const q = "sentinel-" + Date.now();
            await sdk.createQueue(global, q, "onSentinelQueue");
            await sdk.enqueue(global, q, [{ n: "sentinel" }]);
            return "OK";
        },
    });

    const long = sdk.byId(args.longId);
    const ls = sdk.state(long);
    await ls.set("k", { v: "long" });
    report("longState", { got: await ls.get("k"), session: long.id });
    await sdk.listen(long, "onLong", args.fromLong, args.to);

    await sdk.state(doomed).set("k", "v");
    const now = Date.now();
    await sdk.schedule(doomed, "onDoomedSchedule", new Date(now + args.doomedInMs).toISOString(), { n: "doomed" });
    await sdk.schedule(global, "onSentinelSchedule", new Date(now + args.sentinelInMs).toISOString(), { n: "sentinel" });
    const q = "doomed-" + now;
    await sdk.createQueue(doomed, q, "onDoomedQueue");
    await sdk.enqueue(doomed, q, [{ n: "first" }, { n: "second" }, { n: "third" }]);
    report("ready", { doomed: doomed.id, long: long.id });
}
