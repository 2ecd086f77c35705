#!/usr/bin/env python3
"""Replays, on a scratch PostgreSQL server, `kong migrations bootstrap` of an old release
followed by Kong 2.8.5's `kong migrations up` and `kong migrations finish`, exactly in Kong's
order and with Kong's schema_meta bookkeeping SQL (connector.lua `record_migration`).

usage: tools/replay.py --host SOCKET_DIR [--user postgres] [--write] TAG [TAG...]
       (TAG "2.8.5" replays a fresh 2.8.5 bootstrap, as a check of the harness)

For each TAG it creates database kh_<tag> (dropped first if it exists) and:
  1. runs ../kong-2.8.5/bootstrap.sql;
  2. bootstrap of TAG: for each migration of <TAG>/sequence.json: the up as ONE query
     "BEGIN;\\n<sql>\\nCOMMIT;\\n" (like connector:run_up_migration; releases before 2.5 send it even
     for an empty up), record 'pending'/'executed', then the teardown file (psql -f, each
     statement autocommitted) and record 'teardown';
  3. 2.8.5 `up`: loads the schema_meta rows, classifies 2.8.5's migrations like
     kong/db/migrations/state.lua, runs the ups of the `new` ones, records them;
  4. 2.8.5 `finish`: reloads, runs the teardowns of the `pending` ones, records 'teardown';
  5. checks the schema_meta rows against the offline simulation (same rules, no database)
     and, with --write, writes <TAG>/expected_schema_meta_after_2.8.5.json;
  6. writes pg_dump -s --no-owner --no-privileges to /tmp/kh_<tag>.schema.sql (normalized like
     ../kong-2.8.5/schema.sql) and prints a unified diff against ../kong-2.8.5/schema.sql.
"""
import argparse, difflib, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
HIST = os.path.dirname(HERE)
STOCK = os.path.join(os.path.dirname(HIST), "kong-2.8.5")
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")

A = None


def psql(db, *args, capture=False):
    cmd = [f"{PGBIN}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", A.host, "-U", A.user,
           "-d", db] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"psql failed ({db}): {' '.join(args)[:200]}\n{r.stderr}")
    return r.stdout


def query(db, sql):                 # one simple-Query message, like pgmoon
    return psql(db, "-c", sql)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def record(db, subsystem, name, state):
    """kong/db/strategies/postgres/connector.lua _mt:record_migration (same SQL 1.0.0..2.8.5)."""
    k, s, n, arr = lit("schema_meta"), lit(subsystem), lit(name), lit("{" + name + "}")
    if state == "executed":
        sql = (f"INSERT INTO schema_meta (key, subsystem, last_executed, executed)\n"
               f"     VALUES ({k}, {s}, {n}, {arr})\n"
               f"ON CONFLICT (key, subsystem) DO UPDATE\n"
               f"        SET last_executed = EXCLUDED.last_executed,\n"
               f"            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), {n});")
    elif state == "pending":
        sql = (f"INSERT INTO schema_meta (key, subsystem, pending)\n"
               f"     VALUES ({k}, {s}, {arr})\n"
               f"ON CONFLICT (key, subsystem) DO UPDATE\n"
               f"        SET pending = ARRAY_APPEND(schema_meta.pending, {n});")
    else:
        sql = (f"INSERT INTO schema_meta (key, subsystem, last_executed, executed)\n"
               f"     VALUES ({k}, {s}, {n}, {arr})\n"
               f"ON CONFLICT (key, subsystem) DO UPDATE\n"
               f"        SET last_executed = EXCLUDED.last_executed,\n"
               f"            executed = ARRAY_APPEND(COALESCE(schema_meta.executed, ARRAY[]::TEXT[]), {n}),\n"
               f"            pending  = ARRAY_REMOVE(COALESCE(schema_meta.pending,  ARRAY[]::TEXT[]), {n});")
    query(db, sql)


def run_up(db, path, send_empty):
    sql = open(path).read().strip()
    if not sql and not send_empty:
        return
    if not sql.endswith(";"):
        sql += ";"
    query(db, "BEGIN;\n" + sql + "\nCOMMIT;\n")


def run_teardown(db, path):
    psql(db, "-f", path)


def load_rows(db):
    out = psql(db, "-At", "-c",
               "SELECT coalesce(json_agg(json_build_object('key', key, 'subsystem', subsystem, "
               "'last_executed', last_executed, 'executed', executed, 'pending', pending) "
               "ORDER BY subsystem), '[]') FROM schema_meta WHERE key = 'schema_meta'")
    return json.loads(out)


def classify(seq, rows):
    """kong/db/migrations/state.lua State.load (2.8.5)."""
    by = {r["subsystem"]: r for r in rows}
    res = {"executed": [], "pending": [], "missing": [], "new": []}
    for sub in seq["subsystems"]:
        st = {k: [] for k in res}
        r = by.get(sub["name"])
        if r is None:
            st["new"] = list(sub["migrations"])
        else:
            ex, pe, cut = r["executed"] or [], r["pending"] or [], None
            for i, m in enumerate(sub["migrations"], 1):
                if m["name"] == r["last_executed"]:
                    cut = i + 1
                if m["name"] in ex:
                    st["executed"].append(m)
                elif m["name"] in pe:
                    st["pending"].append(m)
                elif cut is None or i >= cut:
                    st["new"].append(m)
                else:
                    st["missing"].append(m)
        for k in res:
            if st[k]:
                res[k].append((sub["name"], st[k]))
    return res


def simulate(old_seq, new_seq):
    """Offline model of the same steps (record_migration semantics on plain lists)."""
    rows = {}

    def rec(sub, name, state):
        r = rows.get(sub)
        if state == "pending":
            if r is None:
                rows[sub] = {"last_executed": None, "executed": None, "pending": [name]}
            else:
                r["pending"] = (r["pending"] or []) + [name]
        else:
            if r is None:
                rows[sub] = {"last_executed": name, "executed": [name],
                             "pending": None if state == "executed" else []}
            else:
                r["last_executed"] = name
                r["executed"] = (r["executed"] or []) + [name]
                if state == "teardown":
                    r["pending"] = [x for x in (r["pending"] or []) if x != name]

    for sub in old_seq["subsystems"]:
        for m in sub["migrations"]:
            rec(sub["name"], m["name"], "pending" if m["teardown"] else "executed")
            if m["teardown"]:
                rec(sub["name"], m["name"], "teardown")
    if new_seq is not None:
        def as_rows():
            return [dict(key="schema_meta", subsystem=s, **v) for s, v in sorted(rows.items())]
        st = classify(new_seq, as_rows())
        for sub, ms in st["new"]:
            for m in ms:
                rec(sub, m["name"], "pending" if m["teardown"] else "executed")
        st = classify(new_seq, as_rows())
        for sub, ms in st["pending"]:
            for m in ms:
                rec(sub, m["name"], "teardown")
    return [dict(key="schema_meta", subsystem=s, **v) for s, v in sorted(rows.items())]


def dump(db):
    out = subprocess.run([f"{PGBIN}/pg_dump", "-s", "--no-owner", "--no-privileges", "-h", A.host,
                          "-U", A.user, db], check=True, capture_output=True, text=True).stdout
    keep = [l for l in out.split("\n")
            if not l.startswith("\\restrict") and not l.startswith("\\unrestrict")
            and not l.startswith("-- Dumped from") and not l.startswith("-- Dumped by")]
    return "\n".join(keep)


def replay(tag):
    db = "kh_" + tag.replace(".", "_")
    psql("postgres", "-c", f"DROP DATABASE IF EXISTS {db}")
    psql("postgres", "-c", f"CREATE DATABASE {db}")
    stock = json.load(open(os.path.join(STOCK, "sequence.json")))
    if tag == "2.8.5":
        old, old_dir, new = stock, STOCK, None
    else:
        old_dir = os.path.join(HIST, tag)
        old, new = json.load(open(os.path.join(old_dir, "sequence.json"))), stock
    send_empty = tag.split(".")[:2] < ["2", "5"] and tag != "2.8.5"
    psql(db, "-f", os.path.join(STOCK, "bootstrap.sql"))
    n = 0
    for sub in old["subsystems"]:                       # bootstrap (run_up + run_teardown)
        for m in sub["migrations"]:
            run_up(db, os.path.join(old_dir, m["up"]), send_empty)
            record(db, sub["name"], m["name"], "pending" if m["teardown"] else "executed")
            if m["teardown"]:
                run_teardown(db, os.path.join(old_dir, m["teardown"]))
                record(db, sub["name"], m["name"], "teardown")
            n += 1
    boot_rows = load_rows(db)
    exp_boot = [dict(r) for r in old.get("schema_meta_after_bootstrap", [])]
    if exp_boot:
        exp_boot.sort(key=lambda r: r["subsystem"])
        assert boot_rows == exp_boot, ("bootstrap rows differ", boot_rows, exp_boot)
    log = {"bootstrap_migrations": n}
    if new is not None:
        st = classify(new, load_rows(db))               # kong migrations up (2.8.5)
        assert not st["pending"], st["pending"]
        assert not st["missing"], st["missing"]
        up_log = []
        for sub, ms in st["new"]:
            for m in ms:
                run_up(db, os.path.join(STOCK, m["up"]), False)
                state = "pending" if m["teardown"] else "executed"
                record(db, sub, m["name"], state)
                up_log.append({"subsystem": sub, "name": m["name"], "recorded_as": state})
        st = classify(new, load_rows(db))               # kong migrations finish (2.8.5)
        assert not st["new"], st["new"]
        fin_log = []
        for sub, ms in st["pending"]:
            for m in ms:
                run_teardown(db, os.path.join(STOCK, m["teardown"]))
                record(db, sub, m["name"], "teardown")
                fin_log.append({"subsystem": sub, "name": m["name"], "recorded_as": "teardown"})
        st = classify(new, load_rows(db))
        assert not st["new"] and not st["pending"] and not st["missing"]
        log.update(up=up_log, finish=fin_log)
    rows = load_rows(db)
    sim = simulate(old, new)
    assert rows == sim, ("schema_meta differs from simulation", rows, sim)
    if A.write and new is not None:
        doc = {
            "description": (f"`up`: the migrations 2.8.5's `kong migrations up` runs, in order, with "
                            "the state it records; `finish`: the teardowns `kong migrations finish` "
                            f"runs, in order (each appends its name to executed). `rows`: schema_meta rows after `kong migrations bootstrap` of Kong {tag} "
                            "followed by Kong 2.8.5 `kong migrations up` and `kong migrations "
                            "finish` (all bundled plugins enabled). Arrays are in stored order; "
                            "null = SQL NULL. Verified by tools/replay.py on PostgreSQL 15."),
            "born_on": tag,
            "up": log["up"],
            "finish": log["finish"],
            "rows": rows,
        }
        with open(os.path.join(HIST, tag, "expected_schema_meta_after_2.8.5.json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    schema = dump(db)
    open(f"/tmp/{db}.schema.sql", "w").write(schema)
    ref = open(os.path.join(STOCK, "schema.sql")).read()
    diff = list(difflib.unified_diff(ref.split("\n"), schema.split("\n"),
                                     "kong-2.8.5/schema.sql", f"{db}", lineterm="", n=1))
    print(f"== {tag}: ok; bootstrap {n} migrations; up {len(log.get('up', []))}; "
          f"finish {len(log.get('finish', []))}; schema diff lines {len(diff)}")
    for k in ("up", "finish"):
        if k in log:
            print(f"   {k}: " + ", ".join(f"{x['subsystem']}/{x['name']} ({x['recorded_as']})" for x in log[k]))
    for r in rows:
        print(f"   {r['subsystem']}: last={r['last_executed']} executed={r['executed']} pending={r['pending']}")
    open(f"/tmp/{db}.schema.diff", "w").write("\n".join(diff) + "\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--user", default="postgres")
    p.add_argument("--write", action="store_true")
    p.add_argument("tags", nargs="+")
    A = p.parse_args()
    for t in A.tags:
        replay(t)
