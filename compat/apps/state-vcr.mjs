// Every State operation of @vonage/vcr-sdk 1.3.0 (vcr names: increment,
// mapSet, listAppend...) against the platform. Same expectations as
// state-neru.mjs. FT.* (createIndex, search, dropIndex) needs RediSearch: the
// platform may refuse it with a 4xx or 501, which is accepted and noted.
import { vcr, State, EXPIRE_OPTION, IndexType, FieldType } from "@vonage/vcr-sdk";
import { checker, num, unordered, scan } from "./lib.mjs";

const { run, summary } = checker();
const session = vcr.createSession();
const state = new State(session);

await run("set", () => state.set("k1", { hello: "world", n: 1 }), "OK");
await run("get", () => state.get("k1"), { hello: "world", n: 1 });
await run("get missing", () => state.get("missing-key"), null);
await run("set string", () => state.set("s", "text with \"quotes\" and <html>"), "OK");
await run("get string", () => state.get("s"), "text with \"quotes\" and <html>");
await run("delete", () => state.delete("k1"), undefined, num(1));
await run("get deleted", () => state.get("k1"), null);
await run("increment", () => state.increment("counter", 5), 5);
await run("decrement", () => state.decrement("counter", 2), 3);
await run("get counter", () => state.get("counter"), 3);
// A key without an expiry counts as an infinite TTL for GT (as in Redis).
await run("expire GT on a key without an expiry", () => state.expire("counter", 3600, EXPIRE_OPTION.GT), undefined, num(0));
await run("expire", () => state.expire("counter", 3600), undefined, num(1));
await run("expire NX on a key with an expiry", () => state.expire("counter", 60, EXPIRE_OPTION.NX), undefined, num(0));

await run("mapSet", () => state.mapSet("h1", { f1: "v1", f2: "v2" }), undefined, num(2));
await run("mapGetValue", () => state.mapGetValue("h1", "f1"), "v1");
await run("mapGetValue missing field", () => state.mapGetValue("h1", "nope"), null);
await run("mapGetAll", () => state.mapGetAll("h1"), { f1: "v1", f2: "v2" });
await run("mapGetAll missing hash", () => state.mapGetAll("no-hash"), {});
await run("mapGetMultiple", () => state.mapGetMultiple("h1", ["f1", "nope"]), ["v1", null]);
await run("mapGetValues", () => state.mapGetValues("h1"), undefined, unordered(["v1", "v2"]));
await run("mapExists", () => state.mapExists("h1", "f1"), undefined, num(1));
await run("mapExists missing field", () => state.mapExists("h1", "nope"), undefined, num(0));
await run("mapIncrement", () => state.mapIncrement("h1", "cnt", 3), undefined, num(3));
await run("mapLength", () => state.mapLength("h1"), undefined, num(3));
await run("mapScan", () => state.mapScan("h1", "0", "f*", 10), undefined, scan(["f1", "v1", "f2", "v2"]));
await run("mapScan without pattern and count", () => state.mapScan("h1", "0"), undefined, scan(["f1", "v1", "f2", "v2", "cnt", "3"]));
await run("mapDelete", () => state.mapDelete("h1", ["f2"]), undefined, num(1));
await run("mapGetAll after mapDelete", () => state.mapGetAll("h1"), { f1: "v1", cnt: "3" });

await run("listAppend", () => state.listAppend("l1", { i: 1 }), undefined, num(1));
await run("listPrepend", () => state.listPrepend("l1", { i: 0 }), undefined, num(2));
await run("listLength", () => state.listLength("l1"), undefined, num(2));
await run("listRange", () => state.listRange("l1"), [{ i: 0 }, { i: 1 }]);
await run("listRange 0..0", () => state.listRange("l1", 0, 0), [{ i: 0 }]);
await run("listRange missing list", () => state.listRange("no-list"), []);
await run("listIndex", () => state.listIndex("l1", 0), { i: 0 });
await run("listIndex out of range", () => state.listIndex("l1", 9), null);
await run("listSet", () => state.listSet("l1", 0, { i: "zero" }), "OK");
await run("listInsert after", () => state.listInsert("l1", false, { i: 1 }, { i: 2 }), undefined, num(3));
await run("listInsert before", () => state.listInsert("l1", true, { i: 1 }, { i: 0.5 }), undefined, num(4));
await run("listRange after listInsert", () => state.listRange("l1"), [{ i: "zero" }, { i: 0.5 }, { i: 1 }, { i: 2 }]);
await run("listRemove", () => state.listRemove("l1", { i: 0.5 }, 1), undefined, num(1));
await run("listTrim", () => state.listTrim("l1", 0, 10), "OK");
await run("listStartPop", () => state.listStartPop("l1"), [{ i: "zero" }]);
await run("listEndPop", () => state.listEndPop("l1", 2), [{ i: 2 }, { i: 1 }]);
await run("listStartPop empty list", () => state.listStartPop("l1"), []);

const other = new State(vcr.createSession());
await run("other session: get", () => other.get("counter"), null);
await run("other session: listRange", () => other.listRange("l1"), []);

const custom = new State(session, "compat-custom");
await run("custom namespace: set", () => custom.set("counter", "custom"), "OK");
await run("custom namespace: get", () => custom.get("counter"), "custom");
await run("session state unchanged by the custom namespace", () => state.get("counter"), 3);

await run("instance state: set", () => vcr.getInstanceState().set("ik", "instance-value"), "OK");
await run("instance state: get", () => vcr.getInstanceState().get("ik"), "instance-value");
await run("instance state: mapSet", () => vcr.getInstanceState().mapSet("ih", { a: "1" }), undefined, num(1));
await run("instance state: mapGetAll", () => vcr.getInstanceState().mapGetAll("ih"), { a: "1" });
await run("instance state is not session state", () => state.get("ik"), null);

await run("account state: set", () => vcr.getAccountState().set("ak", 42), "OK");
await run("account state: get", () => vcr.getAccountState().get("ak"), 42);
await run("account state: increment", () => vcr.getAccountState().increment("ak", 1), 43);
await run("account state is not instance state", () => vcr.getInstanceState().get("ak"), null);

// Full-text search: RediSearch is optional for this runtime.
const unsupported = (status) => status === 400 || status === 404 || status === 422 || status === 501;
const ft = (name, fn) => run(name, fn, undefined, { match: () => true, allowStatus: unsupported, wantText: "any reply, or a 4xx/501 refusal" });
await ft("createIndex", () =>
    state.createIndex("idx1", {
        on: IndexType.HASH,
        prefix: { count: 1, prefixes: ["user:"] },
        schema: [{ fieldName: "name", type: FieldType.TEXT, sortable: true }],
    })
);
await ft("search", () => state.search("idx1", "@name:alice", { limit: { offset: 0, num: 10 } }));
await ft("dropIndex", () => state.dropIndex("idx1", true));

summary("vcr");
