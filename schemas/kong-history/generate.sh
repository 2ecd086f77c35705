#!/usr/bin/env bash
# Regenerates schemas/kong-history/migrations.json from local bare git mirrors of Kong's
# public repositories (no network access, no Lua needed).
#
#   KONG_MIRROR   bare repo of Kong/kong                  (default /work/.mirror/Kong+kong/repo)
#   MIRROR_ROOT   dir holding <Owner>+<name>/repo mirrors of the external plugin rocks
#                 (default /work/.mirror); used for plugins that were bundled as separate
#                 luarocks (kong-plugin-session, kong-plugin-acme, ...) before they moved
#                 into Kong's tree.
#
# Usage: schemas/kong-history/generate.sh [output.json]   (default: next to this script)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KONG_MIRROR="${KONG_MIRROR:-/work/.mirror/Kong+kong/repo}"
export MIRROR_ROOT="${MIRROR_ROOT:-/work/.mirror}"
export OUT="${1:-$here/migrations.json}"
exec python3 - <<'PY'
import json, os, re, subprocess

KONG = os.environ["KONG_MIRROR"]
ROOT = os.environ["MIRROR_ROOT"]
OUT = os.environ["OUT"]

# luarocks rock name -> GitHub repo of the rock (only rocks that Kong's rockspecs list).
ROCK_REPOS = {
    "kong-plugin-acme": "Kong/kong-plugin-acme",
    "kong-plugin-session": "Kong/kong-plugin-session",
    "kong-plugin-aws-lambda": "Kong/kong-plugin-aws-lambda",
    "kong-plugin-azure-functions": "Kong/kong-plugin-azure-functions",
    "kong-plugin-grpc-gateway": "Kong/kong-plugin-grpc-gateway",
    "kong-plugin-grpc-web": "Kong/kong-plugin-grpc-web",
    "kong-plugin-kubernetes-sidecar-injector": "Kong/kubernetes-sidecar-injector",
    "kong-plugin-request-transformer": "Kong/kong-plugin-request-transformer",
    "kong-plugin-serverless-functions": "Kong/kong-plugin-serverless-functions",
    "kong-plugin-zipkin": "Kong/kong-plugin-zipkin",
    "kong-prometheus-plugin": "Kong/kong-plugin-prometheus",
    "kong-proxy-cache-plugin": "Kong/kong-plugin-proxy-cache",
}


def git(repo, *args):
    return subprocess.run(["git", "-C", repo] + list(args), check=True,
                          capture_output=True, text=True).stdout


def show(repo, tag, path):
    r = subprocess.run(["git", "-C", repo, "show", f"{tag}:{path}"],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def ls(repo, tag, path):
    return git(repo, "ls-tree", "-r", "--name-only", tag, path).split()


def vkey(v):
    return tuple(int(x) for x in re.findall(r"\d+", v))


def strip_comments(lua):
    return "\n".join(l.split("--", 1)[0] for l in lua.splitlines())


def lua_string_list(lua):
    """Names of a migrations init.lua (`return { "a", "b", }`)."""
    body = strip_comments(lua)
    m = re.search(r"return\s*\{(.*)\}", body, re.S)
    assert m, lua
    return re.findall(r'"([^"]+)"', m.group(1))


def bundled(tag):
    src = strip_comments(show(KONG, tag, "kong/constants.lua"))
    m = re.search(r"local\s+plugins\s*=\s*\{(.*?)\}", src, re.S)
    return re.findall(r'"([^"]+)"', m.group(1))


_dates = {}


def tag_date(repo, tag):
    """Commit time of the tagged commit (epoch seconds)."""
    if repo not in _dates:
        out = git(repo, "for-each-ref", "--format=%(refname:short) %(*committerdate:unix) %(committerdate:unix)", "refs/tags")
        _dates[repo] = {}
        for line in out.splitlines():
            f = line.split()          # annotated tags fill the first date, lightweight the second
            _dates[repo][f[0]] = int(f[1])
    return _dates[repo][tag]


def rockspec_deps(tag):
    name = [f for f in git(KONG, "ls-tree", "--name-only", tag).split() if f.endswith(".rockspec")]
    assert len(name) == 1, name
    spec = show(KONG, tag, name[0])
    return name[0], dict(re.findall(r'"(kong-[a-z0-9-]+)\s+([^"]+)"', spec))


def resolve(repo_dir, constraint, not_after):
    """luarocks `~> X.Y`: same leading components (vers.lua partial_match), highest
    version; limited to tags that existed when the Kong release was tagged."""
    op, want = constraint.split()
    assert op == "~>", constraint
    want = vkey(want)
    cands = []
    for t in git(repo_dir, "tag").split():
        k = vkey(t)
        if k[:len(want)] == want and tag_date(repo_dir, t) <= not_after:
            cands.append((k, t))
    return max(cands)[1] if cands else None


kong_tags = [t for t in git(KONG, "tag").split()
             if re.fullmatch(r"\d+\.\d+\.\d+", t) and (1, 0, 0) <= vkey(t) <= (2, 8, 5)]
kong_tags.sort(key=vkey)

per_release = {}          # tag -> {subsystem: [names]}
bundled_with = {}         # tag -> [plugin subsystems]
external = {}             # tag -> {plugin: {...}}
for tag in kong_tags:
    lists = {"core": lua_string_list(show(KONG, tag, "kong/db/migrations/core/init.lua"))}
    plugins = bundled(tag)
    in_tree = {p.split("/")[2] for p in ls(KONG, tag, "kong/plugins")
               if p.endswith("/migrations/init.lua")}
    spec_name, deps = rockspec_deps(tag)
    when = tag_date(KONG, tag)
    ext = {}
    for p in sorted(plugins):
        if ls(KONG, tag, f"kong/plugins/{p}"):   # plugin is in Kong's own tree
            if p in in_tree:
                lists[p] = lua_string_list(show(KONG, tag, f"kong/plugins/{p}/migrations/init.lua"))
            continue
        # not in Kong's tree: shipped as a separate rock listed in the rockspec
        hits = []
        for rock, cons in deps.items():
            gh = ROCK_REPOS.get(rock)
            if not gh:
                continue
            d = os.path.join(ROOT, gh.replace("/", "+"), "repo")
            if not os.path.isdir(d):
                raise SystemExit(f"missing mirror {d} for {rock} ({tag})")
            ver = resolve(d, cons, when)
            if ver and ls(d, ver, f"kong/plugins/{p}"):
                hits.append((rock, cons, gh, d, ver))
        if len(hits) != 1:
            raise SystemExit(f"{tag}: cannot locate plugin {p}: {hits}")
        rock, cons, gh, d, ver = hits[0]
        init = show(d, ver, f"kong/plugins/{p}/migrations/init.lua")
        if init is not None:
            lists[p] = lua_string_list(init)
            ext[p] = {"rock": rock, "constraint": cons, "resolved_tag": ver, "repo": gh}
    per_release[tag] = lists
    bundled_with[tag] = sorted(s for s in lists if s != "core")
    if ext:
        external[tag] = ext

# Merge each subsystem's lists, newest release first; names dropped later are inserted
# right after their predecessor in the newest release that still listed them.
names = {}
for tag in reversed(kong_tags):
    for sub, lst in per_release[tag].items():
        merged = names.setdefault(sub, [])
        for i, n in enumerate(lst):
            if n in merged:
                continue
            pos = 0
            for prev in reversed(lst[:i]):
                if prev in merged:
                    pos = merged.index(prev) + 1
                    break
            merged.insert(pos, n)

subsystems = {}
for sub in ["core"] + sorted(s for s in names if s != "core"):
    subsystems[sub] = [{"name": n,
                        "releases": [t for t in kong_tags if n in per_release[t].get(sub, [])]}
                       for n in names[sub]]

doc = {
    "source": ("Generated by schemas/kong-history/generate.sh from the Kong/kong git tags "
               "(every X.Y.Z tag from 1.0.0 to 2.8.5; rc/alpha/beta tags skipped): "
               "kong/db/migrations/core/init.lua, kong/plugins/<name>/migrations/init.lua for "
               "every plugin in kong/constants.lua's `plugins` list (BUNDLED_PLUGINS). Bundled "
               "plugins that are not in Kong's tree at that tag come from the rock listed in "
               "kong-<tag>-0.rockspec; its `~> X.Y` constraint is resolved like luarocks (same "
               "leading components, highest version) among the rock repository's tags that "
               "existed when the Kong tag was made, and kong/plugins/<name>/migrations/init.lua "
               "is read at that rock tag (see external_rocks)."),
    "releases": kong_tags,
    "subsystems": subsystems,
    "bundled_with_migrations": bundled_with,
    "external_rocks": external,
}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
print(f"wrote {OUT}: {len(kong_tags)} releases, {len(subsystems)} subsystems")
PY
