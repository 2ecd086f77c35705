#!/usr/bin/env python3
"""Builds schemas/kong-history/<TAG>/ (up SQL files + sequence.json) from the git mirrors.

usage: tools/build_tag.py TAG [TAG...]

- Migration lists and the plugin set come from ../migrations.json (generate.sh).
- Each `postgres.up` is read with LuaJIT (tools/extract_up.lua) from `git archive` of the
  Kong tag, or of the external plugin rock's tag for plugins bundled as separate rocks.
- Run-time generated UUIDs are replaced by the same SQL expression as in
  schemas/kong-2.8.5 (see README.md there).
- .teardown.sql files are hand-written translations and are NOT generated; this script only
  checks that one exists for every migration that has a `postgres.teardown` and no others.
- sequence.json also gets `schema_meta_after_bootstrap`, computed from Kong's
  record_migration semantics (identical SQL at every release 1.0.0 .. 2.8.5).
Requires: git, luajit (Debian package `luajit`), python3.
"""
import json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HIST = os.path.dirname(HERE)
KONG = os.environ.get("KONG_MIRROR", "/work/.mirror/Kong+kong/repo")
ROOT = os.environ.get("MIRROR_ROOT", "/work/.mirror")
MARK = "'__KONG_GENERATED_UUID_V4__'"
UUID_EXPR = ("overlay(overlay(md5(random()::text || clock_timestamp()::text) "
             "placing '4' from 13) placing '8' from 17)::uuid")


def archive(repo, tag, dest):
    os.makedirs(dest, exist_ok=True)
    p1 = subprocess.Popen(["git", "-C", repo, "archive", tag, "kong"], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest], stdin=p1.stdout, check=True)
    assert p1.wait() == 0


def extract(src, ns, out, names):
    r = subprocess.run(["luajit", os.path.join(HERE, "extract_up.lua"), src, ns, out] + names,
                       check=True, capture_output=True, text=True)
    info = {}
    for line in r.stdout.splitlines():
        name, *kv = line.split()
        info[name] = dict(x.split("=") for x in kv)
    return info


def fix_uuid(path):
    s = open(path).read()
    if MARK not in s:
        return
    out = []
    for line in s.split("\n"):
        if MARK in line:
            if "parameters" in line:          # core/013: parameters.value is TEXT
                line = line.replace(MARK, UUID_EXPR + "::text")
            else:                             # core/009: workspaces.id
                line = line.replace(MARK, UUID_EXPR)
        out.append(line)
    open(path, "w").write("\n".join(out))


def build(tag, hist):
    rel = hist["releases"]
    assert tag in rel, tag
    ext = hist["external_rocks"].get(tag, {})
    subs = ["core"] + hist["bundled_with_migrations"][tag]      # sorted by name (byte order)
    tdir = os.path.join(HIST, tag)
    seq = {"kong_version": tag, "source": f"Kong/kong@{tag}", "subsystems": []}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        archive(KONG, tag, os.path.join(tmp, "kong"))
        for sub in subs:
            names = [e["name"] for e in hist["subsystems"][sub] if tag in e["releases"]]
            if sub in ext:
                x = ext[sub]
                src = os.path.join(tmp, "rock-" + sub)
                archive(os.path.join(ROOT, x["repo"].replace("/", "+"), "repo"), x["resolved_tag"], src)
            else:
                src = os.path.join(tmp, "kong")
            ns = "kong.db.migrations.core" if sub == "core" else f"kong.plugins.{sub}.migrations"
            base = "kong/db/migrations/core" if sub == "core" else f"kong/plugins/{sub}/migrations"
            out = os.path.join(tdir, "migrations", sub)
            os.makedirs(out, exist_ok=True)
            info = extract(src, ns, out, names)
            entry = {"name": sub, "namespace": ns, "source": f"{base}/init.lua"}
            if sub in ext:
                entry["repo"] = f'{ext[sub]["repo"]}@{ext[sub]["resolved_tag"]}'
                entry["rock"] = f'{ext[sub]["rock"]} {ext[sub]["constraint"]} (kong-{tag}-0.rockspec)'
            entry["migrations"] = []
            any_td = False
            for n in names:
                fix_uuid(os.path.join(out, f"{n}.up.sql"))
                td = info[n]["teardown"] == "yes"
                assert info[n]["up_f"] == "no", (tag, sub, n)
                tdf = os.path.join(out, f"{n}.teardown.sql")
                if td != os.path.exists(tdf):
                    print(f"WARNING {tag} {sub}/{n}: teardown={td} but file exists={os.path.exists(tdf)}")
                any_td |= td
                entry["migrations"].append({
                    "name": n, "source": f"{base}/{n}.lua",
                    "up": f"migrations/{sub}/{n}.up.sql",
                    "teardown": f"migrations/{sub}/{n}.teardown.sql" if td else None,
                })
            seq["subsystems"].append(entry)
            rows.append({"key": "schema_meta", "subsystem": sub, "last_executed": names[-1],
                         "executed": names, "pending": [] if any_td else None})
    seq["bootstrap_sql"] = "../kong-2.8.5/bootstrap.sql"
    seq["bootstrap_notes"] = (
        "schema_meta/locks DDL in kong/db/strategies/postgres/connector.lua at this tag is "
        "identical to 2.8.5 (schemas/kong-2.8.5/bootstrap.sql)."
        + (" Unlike 2.8.5, 1.0.x's schema_bootstrap does not send the CREATE SCHEMA/SET SCHEMA "
           "query first: it works in the connection's current schema." if tag.startswith("1.0.") else "")
        + " Bootstrap runs every migration with run_up and run_teardown: up, record 'pending' "
          "(has teardown) or 'executed', then immediately the teardown and record 'teardown'.")
    if tuple(int(x) for x in tag.split(".")) < (2, 4, 0):
        seq["subsystem_order_notes"] = (
            "Listed core first, then plugins sorted by name. Kong before 2.4.0 "
            "(kong/db/migrations/state.lua load_subsystems) appends the plugin subsystems in "
            "`pairs(kong_config.loaded_plugins)` order, i.e. LuaJIT hash order, not sorted. Plugin "
            "subsystems only touch their own tables (plus core's), so the order between them "
            "changes neither the schema nor the schema_meta rows.")
    else:
        seq["subsystem_order_notes"] = ("core first, then plugins sorted by name (table.sort in "
                                        "kong/db/migrations/state.lua load_subsystems).")
    seq["schema_meta_after_bootstrap_notes"] = (
        "One row per subsystem, key 'schema_meta': executed = its migrations in code order, "
        "last_executed = the last one, pending = [] ('{}') if the subsystem has at least one "
        "migration with a postgres teardown, else null (SQL NULL). Verified by tools/replay.py.")
    seq["schema_meta_after_bootstrap"] = rows
    with open(os.path.join(tdir, "sequence.json"), "w") as f:
        json.dump(seq, f, indent=2)
        f.write("\n")
    print(f"{tag}: {sum(len(s['migrations']) for s in seq['subsystems'])} migrations in {len(subs)} subsystems")


if __name__ == "__main__":
    hist = json.load(open(os.path.join(HIST, "migrations.json")))
    for t in sys.argv[1:]:
        build(t, hist)
