// Every State operation of neru-alpha 5.1.0 against the platform, with the
// values a Redis-backed client-persistence-api must produce (wire protocol
// §3.1). Session, instance and account state, and their isolation. Prints
// one "summary" line; the Go test fails on each check that did not pass.
import { neru, State, ExpireOptions } from "neru-alpha";
import { checker, num, unordered, scan } from "./lib.mjs";

const { run, summary } = checker();
const session = neru.createSession();
const state = new State(session);

// strings
await run("set", () => state.set("k1", { hello: "world", n: 1 }), "OK");
await run("get", () => state.get("k1"), { hello: "world", n: 1 });
await run("get missing", () => state.get("missing-key"), null);
await run("set string", () => state.set("s", "text with \"quotes\" and <html>"), "OK");
await run("get string", () => state.get("s"), "text with \"quotes\" and <html>");
await run("delete", () => state.delete("k1"), undefined, num(1));
await run("get deleted", () => state.get("k1"), null);
await run("incrby", () => state.incrby("counter", 5), 5);
await run("decrby", () => state.decrby("counter", 2), 3);
await run("get counter", () => state.get("counter"), 3);
await run("expire", () => state.expire("counter", 3600), undefined, num(1));
await run("expire NX on a key with an expiry", () => state.expire("counter", 60, ExpireOptions.NX), undefined, num(0));
await run("expire missing key", () => state.expire("missing-key", 60), undefined, num(0));

// hashes (fields and values are sent raw, replies passed through)
await run("hset", () => state.hset("h1", { f1: "v1", f2: "v2" }), undefined, num(2));
await run("hget", () => state.hget("h1", "f1"), "v1");
await run("hget missing field", () => state.hget("h1", "nope"), null);
await run("hgetall", () => state.hgetall("h1"), { f1: "v1", f2: "v2" });
await run("hgetall missing hash", () => state.hgetall("no-hash"), {});
await run("hmget", () => state.hmget("h1", ["f1", "f2", "nope"]), ["v1", "v2", null]);
await run("hvals", () => state.hvals("h1"), undefined, unordered(["v1", "v2"]));
await run("hexists", () => state.hexists("h1", "f1"), undefined, num(1));
await run("hexists missing field", () => state.hexists("h1", "nope"), undefined, num(0));
await run("hincrby", () => state.hincrby("h1", "cnt", 3), undefined, num(3));
await run("hlen", () => state.hlen("h1"), undefined, num(3));
await run("hscan", () => state.hscan("h1", "0", "f*", 10), undefined, scan(["f1", "v1", "f2", "v2"]));
// neru sends ["0","MATCH",null,"COUNT",null] when pattern and count are left out.
await run("hscan without pattern and count", () => state.hscan("h1", "0"), undefined, scan(["f1", "v1", "f2", "v2", "cnt", "3"]));
await run("hdel", () => state.hdel("h1", ["f2"]), undefined, num(1));
await run("hgetall after hdel", () => state.hgetall("h1"), { f1: "v1", cnt: "3" });

// lists (values are JSON texts)
await run("rpush", () => state.rpush("l1", { i: 1 }), undefined, num(1));
await run("lpush", () => state.lpush("l1", { i: 0 }), undefined, num(2));
await run("llen", () => state.llen("l1"), undefined, num(2));
await run("lrange", () => state.lrange("l1", 0, -1), [{ i: 0 }, { i: 1 }]);
await run("lrange default range", () => state.lrange("l1"), [{ i: 0 }, { i: 1 }]);
await run("lrange missing list", () => state.lrange("no-list"), []);
await run("lindex", () => state.lindex("l1", 0), { i: 0 });
await run("lindex out of range", () => state.lindex("l1", 9), null);
await run("lset", () => state.lset("l1", 0, { i: "zero" }), "OK");
await run("linsert before", () => state.linsert("l1", true, { i: 1 }, { i: 0.5 }), undefined, num(3));
await run("linsert after", () => state.linsert("l1", false, { i: 1 }, { i: 2 }), undefined, num(4));
await run("lrange after linsert", () => state.lrange("l1"), [{ i: "zero" }, { i: 0.5 }, { i: 1 }, { i: 2 }]);
await run("lrem", () => state.lrem("l1", { i: 0.5 }, 0), undefined, num(1));
await run("ltrim", () => state.ltrim("l1", 0, 10), "OK");
await run("lpop", () => state.lpop("l1", 1), [{ i: "zero" }]);
await run("rpop", () => state.rpop("l1", 1), [{ i: 2 }]);
await run("lpop default count", () => state.lpop("l1"), [{ i: 1 }]);
await run("lpop empty list", () => state.lpop("l1"), []);
await run("rpop missing list", () => state.rpop("no-list", 2), []);

// isolation: another session sees none of this session's keys
const other = new State(neru.createSession());
await run("other session: get", () => other.get("counter"), null);
await run("other session: lrange", () => other.lrange("l1"), []);

// a custom namespace is its own space
const custom = new State(session, "compat-custom");
await run("custom namespace: set", () => custom.set("counter", "custom"), "OK");
await run("custom namespace: get", () => custom.get("counter"), "custom");
await run("session state unchanged by the custom namespace", () => state.get("counter"), 3);

// instance state: one space per instance, shared by all sessions
await run("instance state: set", () => neru.getInstanceState().set("ik", "instance-value"), "OK");
await run("instance state: get", () => neru.getInstanceState().get("ik"), "instance-value");
await run("instance state: hset", () => neru.getInstanceState().hset("ih", { a: "1" }), undefined, num(1));
await run("instance state: hgetall", () => neru.getInstanceState().hgetall("ih"), { a: "1" });
await run("instance state is not session state", () => state.get("ik"), null);

// account state
await run("account state: set", () => neru.getAccountState().set("ak", 42), "OK");
await run("account state: get", () => neru.getAccountState().get("ak"), 42);
await run("account state: incrby", () => neru.getAccountState().incrby("ak", 1), 43);
await run("account state is not instance state", () => neru.getInstanceState().get("ak"), null);

summary("neru");
